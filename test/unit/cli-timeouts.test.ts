/**
 * The CLI against a slow or briefly unavailable broker: a request that does not answer ends with one line and
 * exit 7, `request` sends an Idempotency-Key and retries a 503 with the same key, and calls that are not safe to
 * repeat are never retried.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../cli/context.js';
import { EXIT } from '../../cli/errors.js';
import { run } from '../../cli/run.js';
import { saveSession } from '../../cli/state.js';

const SERVER = 'http://broker.test';
const NOW = Date.now();

type Respond = (url: string, init: RequestInit) => Promise<Response>;

function harness(respond: Respond, env: Record<string, string> = {}) {
  let stderr = '';
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const home = mkdtempSync(join(tmpdir(), 'bg-unit-'));
  const ctx: CliContext = {
    env: { BREAKGLASS_HOME: join(home, 'state'), BREAKGLASS_URL: SERVER, ...env },
    home,
    cwd: home,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(input), init: init ?? {} });
      return respond(String(input), init ?? {});
    }) as typeof fetch,
    stdout: { write: () => true },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    stdin: new PassThrough() as unknown as CliContext['stdin'],
    openUrl: async () => false,
    now: () => NOW,
    signal: new AbortController().signal,
  };
  saveSession(ctx, {
    server: SERVER,
    issuer: `${SERVER}/oidc`,
    clientId: 'breakglass-cli',
    audience: 'breakglass',
    method: 'dev-user',
    accessToken: 'header.payload.signature',
    expiresAt: NOW + 3600_000,
  });
  return { ctx, calls, err: () => stderr };
}

/** Never answers; rejects the way fetch does when its signal aborts. */
const hang: Respond = (_url, init) =>
  new Promise((_, reject) => {
    init.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true });
  });

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: {
      'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
      ...headers,
    },
  });

const UNAVAILABLE = {
  type: 'urn:breakglass:problem:storage_unavailable',
  title: 'Storage unavailable',
  status: 503,
  code: 'storage_unavailable',
  detail: 'storage is unavailable right now; retry shortly',
  requestId: 'r_1',
};
const ROLE = {
  id: 'prod-readonly',
  description: 'Read',
  defaultDurationMinutes: 60,
  maxDurationMinutes: 480,
};
const CREATED = {
  id: 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
  roleId: 'prod-readonly',
  status: 'pending',
  approvals: [],
  approvalsRequired: 1,
  durationMinutes: 60,
  reason: 'failover',
  requester: { subject: 'alice', email: 'alice@example.com' },
  url: `${SERVER}/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D`,
};

describe('CLI timeouts and safe retries', () => {
  it('a server that never answers ends in one line on stderr and exit 7 (unavailable)', async () => {
    const h = harness(hang, { BREAKGLASS_TIMEOUT: '0.2' });
    const started = Date.now();
    expect(await run(['status', 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D'], h.ctx)).toBe(EXIT.unavailable);
    expect(Date.now() - started).toBeLessThan(3000);
    const lines = h.err().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^breakglass: http:\/\/broker\.test did not answer within 0\.2 s/);
    expect(h.err()).not.toMatch(/\bat .*\(|TimeoutError|DOMException/);
  });

  it('request sends an Idempotency-Key and retries a 503 with the same key', async () => {
    let creates = 0;
    const h = harness(async (url, init) => {
      if (url.endsWith('/v1/roles')) return json({ roles: [ROLE] });
      if (url.endsWith('/v1/requests') && init.method === 'POST') {
        creates += 1;
        return creates === 1 ? json(UNAVAILABLE, 503, { 'retry-after': '0' }) : json(CREATED, 201);
      }
      return json({}, 404);
    });
    const code = await run(['request', 'prod-readonly', '--reason', 'failover', '--json'], h.ctx);
    expect([code, h.err()]).toEqual([EXIT.ok, '']);
    const keys = h.calls
      .filter((call) => call.init.method === 'POST')
      .map((call) => new Headers(call.init.headers).get('idempotency-key'));
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^cli-[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it('a decision without an Idempotency-Key is not retried after a 503: exit 7 with a hint', async () => {
    const h = harness(async () => json(UNAVAILABLE, 503, { 'retry-after': '0' }));
    expect(await run(['approve', 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D'], h.ctx)).toBe(EXIT.unavailable);
    expect(h.calls.filter((call) => call.init.method === 'POST')).toHaveLength(1);
    expect(h.err()).toMatch(/storage_unavailable/);
  });

  it('a GET stuck on 503 is retried a bounded number of times, then reported', async () => {
    const h = harness(async () => json(UNAVAILABLE, 503, { 'retry-after': '0' }));
    expect(await run(['status', 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D'], h.ctx)).toBe(EXIT.unavailable);
    expect(h.calls).toHaveLength(3);
  });
});
