/** Starts a real local stack (DynamoDB Local + oidc-provider + API) for integration tests. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { exampleConfigPath, parseConfigText } from '../../api/config/load.js';
import type { BreakglassConfig, LimitsConfig } from '../../api/config/schema.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../api/local/stack.js';
import { silentLogger } from '../../api/ports/logger.js';

let tableCounter = 0;

export function exampleConfig(): BreakglassConfig {
  return parseConfigText(readFileSync(exampleConfigPath, 'utf8'), 'example');
}

/** A local stack plus where it keeps things, for tests that reach past the API (keys, table). */
export interface TestStack extends LocalStack {
  dataDir: string;
  tableName: string;
}

/**
 * Suites send hundreds of deliberately refused calls from one person and one address; they run with limits
 * far above that unless they test the limits themselves (`limits`).
 */
const TEST_LIMITS: LimitsConfig = {
  windowSeconds: 60,
  perPrincipal: 1_000_000,
  refusedPerPrincipal: 1_000_000,
  perIp: 1_000_000,
  store: 'memory',
};

export async function startTestStack(
  options: Partial<LocalStackOptions> & { limits?: Partial<LimitsConfig> } = {},
): Promise<TestStack> {
  tableCounter += 1;
  const { limits, ...rest } = options;
  const base = rest.config ?? exampleConfig();
  options = { ...rest, config: { ...base, limits: { ...TEST_LIMITS, ...limits } } };
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'bg-test-'));
  const tableName = options.tableName ?? `t${Date.now().toString(36)}${process.pid}${tableCounter}`;
  const stack = await startLocalStack({
    port: 0,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    sweepIntervalSeconds: 3600,
    logger: silentLogger,
    ...options,
    dataDir,
    tableName,
  });
  return Object.assign(stack, { dataDir, tableName });
}

/** Waits for after-commit work (listeners) and then for the sealer to chain what they recorded. */
export async function settledAndSealed(stack: LocalStack): Promise<void> {
  await stack.broker.requests.settled();
  await stack.broker.notifications.idle();
  await stack.broker.requests.settled();
  await stack.sealing.idle();
}

/** A real signed access token for a demo user, from the stack's development provider. */
export async function tokenFor(
  stack: LocalStack,
  username: string,
  options: { mfa?: boolean } = {},
): Promise<string> {
  const response = await fetch(`${stack.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:breakglass:params:oauth:grant-type:dev-user',
      username,
      client_id: stack.config.oidc.clientId,
      ...(options.mfa === false ? { mfa: 'false' } : {}),
    }),
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (!body.access_token) throw new Error(`no token for ${username}: ${JSON.stringify(body)}`);
  return body.access_token;
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** A small JSON client for the broker API. */
export function apiClient(stack: LocalStack, token?: string) {
  return async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    // The trail serves sealed events; a reader of it arrives after whatever was committed through other
    // channels (raw fetches, sweep tasks) has been sealed, as a user reading a moment later would.
    if (path.startsWith('/v1/audit')) await (stack as Partial<LocalStack>).sealing?.idle(10_000);
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    // Commits are sealed by the in-process sealer right after they land; tests read the sealed chain as a user
    // would a moment later. (Tests of the unsealed state stop `stack.sealing` first.)
    // Not after a 503: storage is unavailable, and the sealer would wait for it too.
    if (response.status !== 503) await (stack as Partial<LocalStack>).sealing?.idle(10_000);
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // leave as text (JSONL, HTML)
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  };
}
