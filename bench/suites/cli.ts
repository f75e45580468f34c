/**
 * CLI start-up cost where it matters: `aws` runs credential_process on every call, so a cached
 * `breakglass credentials` must cost about as much as starting Node at all. Samples alternate between the
 * cached call and `node -e 0` so machine noise hits both alike. Target: ratio ≤ 1.2×. Also `--version`, and
 * what a cache entry older than 5 minutes costs: one small `grant-status` request to a local stand-in server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { credentialCacheFile, writeCacheEntry } from '../../cli/credential-cache.js';

export const name = 'cli';

const SAMPLES = positiveInt(process.env.BENCH_CLI_SAMPLES, 40);
const TARGET_RATIO = 1.2;
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

/** Wall time of one child process without blocking this process (the stand-in server must answer meanwhile). */
function timeAsync(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) =>
      code === 0
        ? done(performance.now() - started)
        : fail(new Error(`node ${args.join(' ')} failed (${code}): ${stderr.trim()}`)),
    );
  });
}

function cacheEntry(validatedAt: number) {
  return {
    v: 2 as const,
    output: JSON.stringify({
      Version: 1,
      AccessKeyId: 'ASIASIMULATEDBENCH00',
      SecretAccessKey: 'bench-secret',
      SessionToken: 'bench-token',
      Expiration: new Date(Date.now() + 3600_000).toISOString(),
    }),
    requestId: REQUEST_ID,
    roleId: null,
    fetchedAt: validatedAt,
    validatedAt,
    endAt: null,
  };
}

/**
 * The re-validation path: an entry last confirmed 6 minutes ago makes the CLI ask the server once
 * (`GET /v1/requests/{id}/grant-status`) before serving it. The server is a local stand-in answering "active",
 * so this measures the CLI's cost of the extra request, not a real broker's.
 */
async function revalidationMedian(): Promise<{ median: number; requests: number }> {
  const home = mkdtempSync(join(tmpdir(), 'bg-bench-cli-reval-'));
  let requests = 0;
  const server = createServer((req, res) => {
    if (req.url?.endsWith('/grant-status')) requests += 1;
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        id: REQUEST_ID,
        status: 'active',
        active: true,
        endAt: null,
        lastRevocationOnRoleAt: null,
      }),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  try {
    mkdirSync(home, { recursive: true });
    writeFileSync(
      join(home, 'session.json'),
      JSON.stringify({
        server: url,
        issuer: `${url}/oidc`,
        clientId: 'bench',
        audience: 'bench',
        method: 'dev-user',
        accessToken: 'bench-token',
        expiresAt: Date.now() + 3600_000,
      }),
      { mode: 0o600 },
    );
    const env = { ...process.env, BREAKGLASS_HOME: home, BREAKGLASS_URL: url };
    const samples: number[] = [];
    for (let i = 0; i < Math.max(5, Math.floor(SAMPLES / 2)); i++) {
      writeCacheEntry(
        credentialCacheFile(home, { requestId: REQUEST_ID }),
        cacheEntry(Date.now() - 6 * 60_000),
      );
      samples.push(await timeAsync([CLI, 'credentials', REQUEST_ID], env));
    }
    return { median: median(samples.slice(2)), requests };
  } finally {
    server.close();
    rmSync(home, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'bg-bench-cli-'));
  try {
    // A fresh cache entry exactly as `breakglass credentials` leaves it.
    // Confirmed by the server just now, so the fast path serves it without a re-validation request.
    writeCacheEntry(credentialCacheFile(home, { requestId: REQUEST_ID }), cacheEntry(Date.now()));
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
    const revalidation = await revalidationMedian();
    console.log(
      `cli credentials (entry > 5 min)  ${revalidation.median.toFixed(1)} ms  = cached + ${(revalidation.median - cachedMedian).toFixed(1)} ms for one grant-status request to a local stand-in server (${revalidation.requests} grant-status requests answered)`,
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
