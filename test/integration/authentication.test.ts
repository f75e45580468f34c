/**
 * The shared authentication suite: every /v1 route × every way a bearer token can be wrong → 401
 * `invalid_token` with a WWW-Authenticate challenge, and nothing written to the audit log. Hostile tokens are
 * built from a real token of the development provider and differ from it in exactly one property; the control
 * case (the same claims re-signed with the provider's key) proves that property is the only reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JoseTokenVerifier } from '../../api/adapters/oidc/token-verifier.js';
import { TokenRejected } from '../../api/ports/token-verifier.js';
import { MutableClock } from '../support/clock.js';
import { testConfig } from '../support/fixtures.js';
import { startTestStack, type TestStack, tokenFor } from '../support/stack.js';
import { hs256WithPublicKey, resign, signedWithUnknownKey, unsignedToken } from '../support/tokens.js';

const SAMPLE_ID = 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D';

/** Every authenticated route of DESIGN.md, with a body that would pass validation. */
const ROUTES: Array<[method: string, path: string, body?: unknown]> = [
  ['GET', '/v1/me'],
  ['GET', '/v1/roles'],
  ['POST', '/v1/requests', { roleId: 'prod-readonly', durationMinutes: 30, reason: 'incident' }],
  ['GET', '/v1/requests'],
  ['GET', '/v1/requests/{id}'],
  ['POST', '/v1/requests/{id}/approve', {}],
  ['POST', '/v1/requests/{id}/deny', { comment: 'no' }],
  ['POST', '/v1/requests/{id}/cancel', {}],
  ['POST', '/v1/requests/{id}/revoke', { reason: 'done' }],
  ['POST', '/v1/requests/{id}/extend', { durationMinutes: 10, reason: 'more' }],
  ['POST', '/v1/requests/{id}/review', { outcome: 'acknowledged', comment: 'ok' }],
  ['GET', '/v1/audit/events?format=jsonl'],
  ['GET', '/v1/audit/verify'],
];

type Forge = (ctx: { stack: TestStack; real: string }) => Promise<string | undefined>;

/** Values for the Authorization header; undefined sends none. */
const BAD_CREDENTIALS: Array<[name: string, forge: Forge]> = [
  ['no Authorization header', async () => undefined],
  ['a Basic credential', async () => `Basic ${Buffer.from('alice:secret').toString('base64')}`],
  ['a bearer value that is not a JWT', async () => 'Bearer not-a-jwt'],
  [
    'a wrong issuer',
    async ({ stack, real }) =>
      `Bearer ${await resign(stack, real, { iss: 'https://evil.example.com/oidc' })}`,
  ],
  [
    'a wrong audience',
    async ({ stack, real }) => `Bearer ${await resign(stack, real, { aud: 'another-api' })}`,
  ],
  [
    'an expired token',
    async ({ stack, real }) => {
      const now = Math.floor(Date.now() / 1000);
      return `Bearer ${await resign(stack, real, { iat: now - 7200, exp: now - 120 })}`;
    },
  ],
  ['a key the provider never published', async ({ real }) => `Bearer ${await signedWithUnknownKey(real)}`],
  [
    "a different key under the provider's kid",
    async ({ real }) => {
      const { kid } = JSON.parse(Buffer.from(real.split('.')[0]!, 'base64url').toString()) as { kid: string };
      return `Bearer ${await signedWithUnknownKey(real, kid)}`;
    },
  ],
  ['alg: none', async ({ real }) => `Bearer ${unsignedToken(real)}`],
  [
    'HS256 signed with the public key',
    async ({ stack, real }) => `Bearer ${await hs256WithPublicKey(stack, real)}`,
  ],
  [
    'claims changed after signing (erin adds a group)',
    async ({ real }) => {
      const [header, payload, signature] = real.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, groups: ['sre-leads'] })).toString('base64url');
      return `Bearer ${header}.${forged}.${signature}`;
    },
  ],
];

describe('authentication on every /v1 route', () => {
  const clock = new MutableClock();
  let stack: TestStack;
  let real: string;
  let headBefore: number;
  const credentials = new Map<string, string | undefined>();

  beforeAll(async () => {
    stack = await startTestStack({ clock, config: testConfig() });
    real = await tokenFor(stack, 'erin');
    for (const [name, forge] of BAD_CREDENTIALS) credentials.set(name, await forge({ stack, real }));
    headBefore = (await stack.broker.store.chainHead()).seq;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function send(method: string, path: string, body: unknown, authorization: string | undefined) {
    const response = await fetch(`${stack.url}${path.replace('{id}', SAMPLE_ID)}`, {
      method,
      headers: {
        ...(authorization ? { authorization } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { response, body: (await response.json()) as Record<string, unknown> };
  }

  it('control: the same claims re-signed with the provider key are accepted, so each forgery differs in one property only', async () => {
    const { response, body } = await send('GET', '/v1/me', undefined, `Bearer ${await resign(stack, real)}`);
    expect(response.status).toBe(200);
    expect(body.email).toBe('erin@example.com');
  });

  describe.each(BAD_CREDENTIALS.map(([name]) => [name]))('with %s', (name) => {
    it.each(ROUTES)('%s %s → 401 invalid_token', async (method, path, body) => {
      const { response, body: problem } = await send(method, path, body, credentials.get(name));
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      expect(problem).toMatchObject({ status: 401, code: 'invalid_token' });
      expect(problem.requestId).toBe(response.headers.get('x-request-id'));
    });
  });

  it('a real token stops working once the broker clock passes its exp (plus the tolerance)', async () => {
    const { response: before } = await send('GET', '/v1/me', undefined, `Bearer ${real}`);
    expect(before.status).toBe(200);
    const exp = (JSON.parse(Buffer.from(real.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
    clock.advanceMinutes((exp * 1000 - Date.now()) / 60_000 + 0.25); // inside the 30 s tolerance
    try {
      expect((await send('GET', '/v1/me', undefined, `Bearer ${real}`)).response.status).toBe(200);
      clock.advanceMinutes(0.5);
      const { response, body } = await send('GET', '/v1/me', undefined, `Bearer ${real}`);
      expect(response.status).toBe(401);
      expect(body.code).toBe('invalid_token');
    } finally {
      clock.reset();
    }
  });

  it('a token answered from memory keeps each call its own channel and address, and still ends at exp plus the tolerance', async () => {
    const verifier = new JoseTokenVerifier(stack.config.oidc, { clock });
    const first = await verifier.verify(real, { via: 'cli', ip: '192.0.2.1' });
    first.groups.push('planted');
    const again = await verifier.verify(real, { via: 'api' });
    expect(first).toMatchObject({ email: 'erin@example.com', via: 'cli', ip: '192.0.2.1' });
    expect(again).toMatchObject({ email: 'erin@example.com', via: 'api' });
    expect(again.ip).toBeUndefined();
    expect(again.groups).not.toContain('planted');
    const exp = (JSON.parse(Buffer.from(real.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
    const tolerance = stack.config.oidc.clockToleranceSeconds;
    try {
      clock.advanceMinutes((exp * 1000 - Date.now()) / 60_000 + (tolerance - 5) / 60);
      await verifier.verify(real, { via: 'api' }); // verified again inside the tolerance, and remembered
      clock.advanceMinutes(10 / 60);
      await expect(verifier.verify(real, { via: 'api' })).rejects.toBeInstanceOf(TokenRejected);
    } finally {
      clock.reset();
    }
  });

  it('every /v1 route in the OpenAPI document except /v1/info refuses an anonymous caller', async () => {
    const document = (await (await fetch(`${stack.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/v1/') && path !== '/v1/info')
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => [method.toUpperCase(), path] as const),
      );
    for (const [method, path] of ROUTES) {
      expect(operations).toContainEqual([method, path.split('?')[0]]);
    }
    for (const [method, path] of operations) {
      const { response, body } = await send(method, path, method === 'GET' ? undefined : {}, undefined);
      expect([method, path, response.status, body.code]).toEqual([method, path, 401, 'invalid_token']);
    }
  });

  it('refused tokens write nothing to the audit log (anonymous callers cannot grow it)', async () => {
    expect((await stack.broker.store.chainHead()).seq).toBe(headBefore);
  });
});
