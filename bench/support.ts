/** What the bench suites share: percentiles and real tokens from the local stack's development provider. */
import { exampleConfigPath, loadConfigFile } from '../api/config/load.js';
import type { BreakglassConfig } from '../api/config/schema.js';
import type { LocalStack } from '../api/local/stack.js';

/** The p-th percentile (nearest rank) of `values`; NaN when empty. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** A real signed access token for a demo user. */
export async function devToken(stack: LocalStack, username: string): Promise<string> {
  const response = await fetch(`${stack.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:breakglass:params:oauth:grant-type:dev-user',
      username,
      client_id: stack.config.oidc.clientId,
    }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`the development provider gave no token for ${username}`);
  return body.access_token;
}

/**
 * The example config with the per-person limit far above what a suite sends (the suites measure the write
 * path, not the limiter; refused calls keep their default limit, which the flood measures). The counters are
 * in memory: the bench is one process, as `npm start` is; in Lambda they are DynamoDB items.
 */
export function benchConfig(): BreakglassConfig {
  const config = loadConfigFile(exampleConfigPath);
  return { ...config, limits: { ...config.limits, perPrincipal: 1_000_000, store: 'memory' } };
}
