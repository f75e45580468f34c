/**
 * Property-based fuzzing (fast-check) of every operation in `/openapi.json`, the web pages and forms, and the
 * Slack endpoint, over real HTTP against the local stack: generated ids, query strings, headers and bodies,
 * with valid tokens (requester, approver, auditor, no groups), invalid ones and none. Properties: no 5xx, every
 * API 4xx is problem+json whose `code` is in the error vocabulary with the status that code maps to, and no
 * answer carries a stack trace. Web pages may answer HTML error pages: their status class and the absence of a
 * stack trace are asserted.
 *
 * CI runs a fixed seed and a bounded count (well under a minute); `FUZZ_RUNS=2000 FUZZ_SEED=$RANDOM` runs
 * longer (docs/integration-tests.md). A failure prints the seed and the shrunk counterexample.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../api/domain/errors.js';
import { signSlackRequest } from '../../api/services/notifications/slack-signature.js';
import { TEST_USERS, testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';
import { useKnownCookieSecret, type WebSessionCookie, webSessionFor } from '../support/web-session.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1313);
/** Cases per property; each API operation, web route group and the Slack route is one property. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SLACK_SECRET = 'fuzz-slack-signing-secret-0123456789abcdef';

interface Operation {
  method: string;
  path: string;
  query: string[];
  body: string[] | null;
}

interface Exchange {
  status: number;
  contentType: string;
  text: string;
  retryAfter: string | null;
}

/** Strings a careless parser trips on, mixed into every generated string. */
const HOSTILE = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  'a\udc00b',
  '\u202Etxt.exe\u202C',
  '\u200B',
  '%',
  '%zz',
  '%00',
  '%E0%A4%A',
  '../../etc/passwd',
  '/.//evil.example',
  '//evil.example',
  'javascript:alert(1)',
  '<script>alert(1)</script>',
  '{"$ne":null}',
  '__proto__',
  'constructor',
  'null',
  'NaN',
  '-1',
  '1e309',
  '9'.repeat(400),
  'x'.repeat(5000),
  'req_01JABCDEFGHJKMNPQRSTVWXYZ0',
  'REQ#x',
  'USER#alice',
];

const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 300 }) },
);

const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(text, { maxLength: 3 }),
  fc.dictionary(text, text, { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Drops control characters (tab aside), which fetch refuses to send. */
function printableHeader(value: string): string {
  return [...value].filter((ch) => ch === '\t' || (ch >= ' ' && ch !== '\u007f')).join('');
}

/** Header values must be ByteStrings; anything else never leaves a real client either. */
const headerValue = fc.oneof(
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map(printableHeader),
  fc.constantFrom('', 'x'.repeat(2000), 'application/json', 'text/plain', '*/*', 'web', 'slack', 'cli'),
);

function encodeSegment(value: string): string {
  // Mostly encoded like a client would; sometimes raw, so the server meets bad percent-escapes too.
  try {
    return encodeURIComponent(value);
  } catch {
    return value.replace(/[^\x21-\x7e]/g, '_');
  }
}

function queryString(pairs: Array<[string, string]>): string {
  return pairs.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join('&');
}

function hasStackTrace(body: string): boolean {
  return /\n\s+at [\w.<>]+ \(|node_modules\/|\.ts:\d+:\d+/.test(body);
}

function expectProblem(exchange: Exchange, where: string) {
  expect(exchange.contentType, where).toContain('application/problem+json');
  const body = JSON.parse(exchange.text) as { code?: unknown; status?: unknown; requestId?: unknown };
  expect(typeof body.code, where).toBe('string');
  expect(Object.keys(ERROR_STATUS), where).toContain(body.code);
  expect(ERROR_STATUS[body.code as keyof typeof ERROR_STATUS], where).toBe(exchange.status);
  expect(body.status, where).toBe(exchange.status);
  expect(typeof body.requestId, where).toBe('string');
}

describe('fuzzing every route (fast-check)', () => {
  let stack: TestStack;
  let ids: string[];
  let operations: Operation[];
  let tokens: Record<string, string>;
  let sessions: Record<string, WebSessionCookie>;
  const tally = { requests: 0, byClass: new Map<string, number>(), storageUnavailable: 0 };

  beforeAll(async () => {
    const secret = useKnownCookieSecret();
    process.env.BG_FUZZ_SLACK_SECRET = SLACK_SECRET;
    const config = testConfig((raw) => {
      // The fuzzer is one busy person per token: the limits are tested elsewhere (rate-limits.test.ts).
      raw.limits = {
        perPrincipal: 1_000_000,
        refusedPerPrincipal: 1_000_000,
        perIp: 1_000_000,
        store: 'memory',
      };
      (raw.notifications as Record<string, unknown>).slack = {
        channel: 'C0FUZZ',
        approveInSlack: true,
        tokenEnv: 'BG_FUZZ_SLACK_TOKEN_NOT_SET',
        signingSecretEnv: 'BG_FUZZ_SLACK_SECRET',
      };
    });
    stack = await startTestStack({ config, demoUsers: TEST_USERS });
    tokens = {
      requester: await tokenFor(stack, 'alice'),
      approver: await tokenFor(stack, 'bob'),
      auditor: await tokenFor(stack, 'carol'),
      noGroups: await tokenFor(stack, 'erin'),
    };
    sessions = {
      requester: await webSessionFor(stack.url, secret, 'alice', TEST_USERS),
      approver: await webSessionFor(stack.url, secret, 'bob', TEST_USERS),
      noGroups: await webSessionFor(stack.url, secret, 'erin', TEST_USERS),
    };
    const alice = apiClient(stack, tokens.requester);
    ids = [];
    for (const roleId of ['prod-readonly', 'sandbox-auto', 'prod-admin']) {
      const created = await alice<{ id: string }>('POST', '/v1/requests', {
        roleId,
        durationMinutes: 30,
        reason: 'fuzz target',
        ticket: 'INC-1',
      });
      if (created.body.id) ids.push(created.body.id);
    }
    expect(ids.length).toBeGreaterThanOrEqual(2);

    const document = (await (await fetch(`${stack.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: Array<{ name: string; in: string }>;
            requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
          }
        >
      >;
    };
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        body: operation.requestBody
          ? Object.keys(operation.requestBody.content?.['application/json']?.schema?.properties ?? {})
          : null,
      })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(15);
  }, 120_000);

  afterAll(async () => {
    delete process.env.BG_FUZZ_SLACK_SECRET;
    console.info(
      `fuzz: seed ${SEED}, ${RUNS} runs per property, ${tally.requests} requests, by status class ` +
        `${JSON.stringify(Object.fromEntries(tally.byClass))}, storage_unavailable ${tally.storageUnavailable}`,
    );
    await stack?.stop();
  });

  async function send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Exchange> {
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers,
      redirect: 'manual',
      ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    const exchange = {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      text: await response.text(),
      retryAfter: response.headers.get('retry-after'),
    };
    tally.requests += 1;
    const cls = `${String(exchange.status)[0]}xx`;
    tally.byClass.set(cls, (tally.byClass.get(cls) ?? 0) + 1);
    return exchange;
  }

  /** No 5xx: a storage timeout on an overloaded machine is the one 503 allowed, and it must say so properly. */
  function expectNoServerError(exchange: Exchange, where: string) {
    if (exchange.status === 503 && exchange.text.includes('"storage_unavailable"')) {
      tally.storageUnavailable += 1;
      expect(Number(exchange.retryAfter), where).toBeGreaterThanOrEqual(1);
      return;
    }
    expect(exchange.status, `${where}\n${exchange.text.slice(0, 500)}`).toBeLessThan(500);
    expect(hasStackTrace(exchange.text), `${where}\n${exchange.text.slice(0, 500)}`).toBe(false);
  }

  const credential = () =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('requester', 'approver', 'auditor', 'noGroups') },
      { weight: 1, arbitrary: fc.constantFrom('none', 'garbage', 'basic', 'tampered') },
    );

  function authorization(kind: string, junk: string): Record<string, string> {
    switch (kind) {
      case 'none':
        return {};
      case 'garbage':
        return { authorization: `Bearer ${junk}` };
      case 'basic':
        return { authorization: 'Basic YWxpY2U6c2VjcmV0' };
      case 'tampered':
        return { authorization: `Bearer ${tokens.requester!.slice(0, -4)}AAAA` };
      default:
        return { authorization: `Bearer ${tokens[kind]}` };
    }
  }

  const idArb = () =>
    fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...ids) },
      { weight: 3, arbitrary: text },
      { weight: 1, arbitrary: fc.stringMatching(/^req_[0-9A-Z]{26}$/) },
    );

  function bodyArb(fields: string[]) {
    const known = fields.length
      ? fc.record(Object.fromEntries(fields.map((field) => [field, jsonish])), { requiredKeys: [] })
      : fc.constant({});
    return fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(known, fc.dictionary(text, jsonish, { maxKeys: 2 }))
          .map(([a, b]) => JSON.stringify({ ...b, ...a })),
      },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
      { weight: 1, arbitrary: text },
    );
  }

  it('every /openapi.json operation: no 5xx, 4xx are problem+json with a mapped code', async () => {
    for (const operation of operations) {
      const arbitrary = fc.record({
        credential: credential(),
        junk: headerValue,
        id: idArb(),
        query: fc.array(
          fc.tuple(
            operation.query.length ? fc.oneof(fc.constantFrom(...operation.query), text) : text,
            fc.oneof(text, fc.constantFrom('true', 'false', '0', '100', '101', 'pending', 'prod-readonly')),
          ),
          { maxLength: 4 },
        ),
        contentType: fc.oneof(
          { weight: 5, arbitrary: fc.constant('application/json') },
          { weight: 1, arbitrary: headerValue },
        ),
        idempotencyKey: fc.option(headerValue, { nil: undefined }),
        clientHeader: fc.option(headerValue, { nil: undefined }),
        body: bodyArb(operation.body ?? []),
      });
      await fc.assert(
        fc.asyncProperty(arbitrary, async (input) => {
          const path = operation.path.replace(/\{[^}]+\}/g, () => encodeSegment(input.id));
          const query = queryString(input.query);
          const headers: Record<string, string> = {
            ...authorization(input.credential, input.junk),
            ...(operation.body ? { 'content-type': input.contentType } : {}),
            ...(input.idempotencyKey !== undefined ? { 'idempotency-key': input.idempotencyKey } : {}),
            ...(input.clientHeader !== undefined ? { 'x-breakglass-client': input.clientHeader } : {}),
          };
          const where = `${operation.method} ${path}?${query}`;
          const exchange = await send(
            operation.method,
            `${path}${query ? `?${query}` : ''}`,
            headers,
            operation.body ? input.body : undefined,
          );
          expectNoServerError(exchange, where);
          if (exchange.status >= 400) expectProblem(exchange, where);
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    }
  }, 600_000);

  const WEB_ROUTES: Array<{ method: 'GET' | 'POST'; path: string; fields: string[] }> = [
    { method: 'GET', path: '/', fields: ['done'] },
    { method: 'GET', path: '/requests/new', fields: ['role'] },
    { method: 'GET', path: '/requests/{id}', fields: ['done'] },
    { method: 'GET', path: '/audit', fields: [] },
    { method: 'GET', path: '/auth/login', fields: ['returnTo'] },
    { method: 'GET', path: '/auth/callback', fields: ['code', 'state', 'error', 'iss'] },
    { method: 'POST', path: '/auth/logout', fields: [] },
    {
      method: 'POST',
      path: '/requests',
      fields: ['roleId', 'durationMinutes', 'reason', 'ticket', 'emergency', 'idempotencyKey'],
    },
    ...['approve', 'deny', 'cancel', 'revoke', 'extend', 'review'].map((name) => ({
      method: 'POST' as const,
      path: `/requests/{id}/${name}`,
      fields: ['comment', 'reason', 'durationMinutes', 'outcome'],
    })),
  ];

  it('web pages and forms: no 5xx and no stack trace, with valid, forged and missing sessions', async () => {
    for (const route of WEB_ROUTES) {
      const arbitrary = fc.record({
        session: fc.constantFrom('requester', 'approver', 'noGroups', 'none', 'forged'),
        csrf: fc.constantFrom('valid', 'wrong', 'missing'),
        origin: fc.constantFrom('same', 'other', 'missing'),
        accept: fc.constantFrom('text/html', 'application/json', '*/*'),
        id: idArb(),
        fields: fc.array(
          fc.tuple(fc.oneof(fc.constantFrom(...(route.fields.length ? route.fields : ['x'])), text), text),
          { maxLength: 6 },
        ),
        contentType: fc.constantFrom(
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json',
          'text/plain',
        ),
      });
      await fc.assert(
        fc.asyncProperty(arbitrary, async (input) => {
          const session = sessions[input.session];
          const cookie =
            input.session === 'forged'
              ? `${sessions.requester!.cookie.split('=')[0] ?? 'bg'}=${'A'.repeat(80)}`
              : session?.cookie;
          const path = route.path.replace('{id}', encodeSegment(input.id));
          const headers: Record<string, string> = {
            accept: input.accept,
            ...(cookie ? { cookie } : {}),
            ...(input.origin === 'same'
              ? { origin: stack.url }
              : input.origin === 'other'
                ? { origin: 'https://evil.example' }
                : {}),
          };
          const pairs: Array<[string, string]> = [...input.fields];
          if (route.method === 'POST' && input.csrf !== 'missing') {
            pairs.push(['_csrf', input.csrf === 'valid' ? (session?.csrf ?? 'none') : 'forged-csrf']);
          }
          let exchange: Exchange;
          if (route.method === 'GET') {
            const query = queryString(pairs);
            exchange = await send('GET', `${path}${query ? `?${query}` : ''}`, headers);
          } else {
            headers['content-type'] = input.contentType;
            exchange = await send('POST', path, headers, queryString(pairs));
          }
          const where = `${route.method} ${path} ${JSON.stringify(input.fields).slice(0, 200)}`;
          expectNoServerError(exchange, where);
          if (exchange.contentType.includes('application/problem+json')) expectProblem(exchange, where);
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    }
  }, 600_000);

  it('the Slack endpoint: no 5xx for any body, signature and timestamp', async () => {
    const payload = fc.record(
      {
        type: fc.oneof(fc.constant('block_actions'), text),
        user: fc.oneof(fc.record({ id: text }, { requiredKeys: [] }), jsonish),
        actions: fc.oneof(
          fc.array(
            fc.record(
              {
                action_id: fc.oneof(
                  fc.constantFrom('approve', 'deny', 'breakglass.approve', 'breakglass.deny'),
                  text,
                ),
                value: fc.oneof(fc.constantFrom(...ids), text),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 2 },
          ),
          jsonish,
        ),
        response_url: fc.oneof(fc.constant('https://hooks.slack.com/actions/T/1/x'), text),
      },
      { requiredKeys: [] },
    );
    const arbitrary = fc.record({
      body: fc.oneof(
        { weight: 3, arbitrary: payload.map((p) => `payload=${encodeSegment(JSON.stringify(p))}`) },
        { weight: 1, arbitrary: text },
        { weight: 1, arbitrary: fc.jsonValue().map((v) => `payload=${encodeSegment(JSON.stringify(v))}`) },
      ),
      signature: fc.constantFrom('valid', 'wrong', 'missing', 'garbage'),
      timestamp: fc.oneof(fc.constant('now'), fc.constant('stale'), fc.constant('missing'), headerValue),
    });
    await fc.assert(
      fc.asyncProperty(arbitrary, async (input) => {
        const now = String(Math.floor(Date.now() / 1000));
        const timestamp =
          input.timestamp === 'now'
            ? now
            : input.timestamp === 'stale'
              ? String(Number(now) - 3600)
              : input.timestamp;
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
        if (input.timestamp !== 'missing') headers['x-slack-request-timestamp'] = timestamp;
        if (input.signature === 'valid')
          headers['x-slack-signature'] = signSlackRequest(SLACK_SECRET, timestamp, input.body);
        if (input.signature === 'wrong')
          headers['x-slack-signature'] = signSlackRequest('other', timestamp, input.body);
        if (input.signature === 'garbage') headers['x-slack-signature'] = 'v0=zz';
        const exchange = await send('POST', '/slack/interactions', headers, input.body);
        const where = `slack ${input.signature} ${input.body.slice(0, 200)}`;
        expectNoServerError(exchange, where);
        if (exchange.status >= 400) expectProblem(exchange, where);
      }),
      { seed: SEED, numRuns: RUNS * 4, endOnFailure: true },
    );
  }, 600_000);
});
