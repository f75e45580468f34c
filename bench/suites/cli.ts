/**
 * CLI start-up cost where it matters: `aws` runs credential_process on every call, so a cached
 * `breakglass credentials` must cost about as much as starting Node at all. Samples alternate between the
 * cached call and `node -e 0` so machine noise hits both alike. Target: ratio ≤ 1.5×. Also `--version`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { credentialCacheFile, writeCacheEntry } from '../../cli/credential-cache.js';

export const name = 'cli';

const SAMPLES = positiveInt(process.env.BENCH_CLI_SAMPLES, 40);
const TARGET_RATIO = 1.5;
const CLI = resolve(import.meta.dirname, '../../cli/main.js');
const REQUEST_ID = 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D';

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Wall time of one child process, from spawn to exit. */
function time(args: string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const elapsed = performance.now() - started;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} failed (${result.status}): ${result.stderr.toString().trim()}`);
  }
  return elapsed;
}

export async function run(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'bg-bench-cli-'));
  try {
    // A fresh cache entry exactly as `breakglass credentials` leaves it.
    // Confirmed by the server just now, so the fast path serves it without a re-validation request.
    writeCacheEntry(credentialCacheFile(home, { requestId: REQUEST_ID }), {
      v: 2,
      output: JSON.stringify({
        Version: 1,
        AccessKeyId: 'ASIASIMULATEDBENCH00',
        SecretAccessKey: 'bench-secret',
        SessionToken: 'bench-token',
        Expiration: new Date(Date.now() + 3600_000).toISOString(),
      }),
      requestId: REQUEST_ID,
      roleId: null,
      fetchedAt: Date.now(),
      validatedAt: Date.now(),
      endAt: null,
    });
    // A server nobody listens on: a cache miss would fail, so every sample is a real hit.
    const env = { ...process.env, BREAKGLASS_HOME: home, BREAKGLASS_URL: 'http://127.0.0.1:1' };
    const cached = [CLI, 'credentials', REQUEST_ID];
    const bare = ['-e', '0'];
    const version = [CLI, '--version'];
    for (let i = 0; i < 3; i++) {
      time(cached, env);
      time(bare, env);
      time(version, env);
    }
    const samples = { cached: [] as number[], bare: [] as number[], version: [] as number[] };
    for (let i = 0; i < SAMPLES; i++) {
      samples.cached.push(time(cached, env));
      samples.bare.push(time(bare, env));
      samples.version.push(time(version, env));
    }
    const cachedMedian = median(samples.cached);
    const bareMedian = median(samples.bare);
    const ratio = cachedMedian / bareMedian;
    console.log(`cli credentials (cached) median  ${cachedMedian.toFixed(1)} ms  (${SAMPLES} runs)`);
    console.log(`node -e 0 median                 ${bareMedian.toFixed(1)} ms`);
    console.log(
      `ratio cached/node                ${ratio.toFixed(2)}x  (target ≤ ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'})`,
    );
    console.log(`cli --version median             ${median(samples.version).toFixed(1)} ms`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
