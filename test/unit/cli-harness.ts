/** In-process CLI runs for unit tests: injected fetch, frozen clock, captured streams; no network. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../cli/context.js';
import type { RequestView } from '../../cli/requests-view.js';
import { saveSession } from '../../cli/state.js';

export const NOW = Date.parse('2026-11-22T10:00:00Z');
export const SERVER = 'http://broker.test';

export interface Harness {
  ctx: CliContext;
  out: () => string;
  err: () => string;
  calls: Array<{ url: string; method: string; body: unknown }>;
  /** Aborts the context's signal, as Ctrl-C does. */
  interrupt: () => void;
}

export function harness(
  respond: (url: string, init?: RequestInit) => Response | Promise<Response>,
  env: Record<string, string> = {},
): Harness {
  let stdout = '';
  let stderr = '';
  const calls: Harness['calls'] = [];
  const home = mkdtempSync(join(tmpdir(), 'bg-unit-'));
  const controller = new AbortController();
  const ctx: CliContext = {
    env: { BREAKGLASS_HOME: join(home, 'state'), BREAKGLASS_URL: SERVER, ...env },
    home,
    cwd: home,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      calls.push({
        url,
        method: init?.method ?? 'GET',
        body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      });
      return respond(url, init);
    }) as typeof fetch,
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    stdin: new PassThrough() as unknown as CliContext['stdin'],
    openUrl: async () => false,
    now: () => NOW,
    signal: controller.signal,
  };
  return { ctx, out: () => stdout, err: () => stderr, calls, interrupt: () => controller.abort() };
}

export const json = (body: unknown, status = 200, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });

export const problem = (status: number, code: string, detail: string) =>
  json({ type: 'about:blank', title: code, status, code, detail }, status, 'application/problem+json');

export function loggedIn(h: Harness, expiresAt = NOW + 3600_000): void {
  saveSession(h.ctx, {
    server: SERVER,
    issuer: `${SERVER}/oidc`,
    clientId: 'breakglass-cli',
    audience: 'breakglass',
    method: 'dev-user',
    accessToken: 'header.payload.signature',
    expiresAt,
  });
}

export const ROLE = {
  id: 'prod-admin',
  description: 'Admin',
  accountId: '123456789012',
  roleArn: 'arn:aws:iam::123456789012:role/x',
  maxDurationMinutes: 240,
  defaultDurationMinutes: 60,
  approvalsRequired: 2,
  approverGroups: ['sre-leads'],
  ticket: { required: true, pattern: '^INC-[0-9]+$' },
  emergencyAllowed: true,
};

export const ID = 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D';

const alice = { subject: 'alice', email: 'alice@example.com' };
export const bob = { subject: 'bob', email: 'bob@example.com' };

/** A request as the API presents it; override what the case is about. */
export function requestView(overrides: Partial<RequestView> = {}): RequestView {
  return {
    id: ID,
    roleId: 'prod-admin',
    accountId: '123456789012',
    roleArn: 'arn:aws:iam::123456789012:role/x',
    requester: alice,
    reason: 'failover',
    ticket: 'INC-1',
    emergency: false,
    durationMinutes: 60,
    startAt: null,
    endAt: null,
    status: 'pending',
    approvalsRequired: 2,
    approvals: [],
    denial: null,
    cancellation: null,
    revocation: null,
    postReview: null,
    extension: null,
    extensions: [],
    pendingUntil: '2026-11-22T12:00:00.000Z',
    endReason: null,
    createdAt: '2026-11-22T09:50:00.000Z',
    updatedAt: '2026-11-22T09:55:00.000Z',
    url: `${SERVER}/requests/${ID}`,
    ...overrides,
  };
}
