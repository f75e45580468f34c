/**
 * `npm start` as a developer lives it on a warm machine: dist/ current, the data directory from an earlier
 * run. Each sample is `npm start` from spawn until `/readyz` answers 200 (the broker, its DynamoDB Local and the
 * development identity provider all up), then Ctrl-C and wait for it to stop. The first start on a fresh data
 * directory is run and printed apart: it creates the table and the provider's keys. Target: ≤ 6 s warm.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort } from '../../api/local/dynamodb-local.js';
import { PACKAGE_ROOT } from '../../api/package-root.js';
import { percentile } from '../support.js';

export const name = 'start';

const SAMPLES = Math.max(1, Number(process.env.BENCH_START_SAMPLES ?? 5));
const TARGET_MS = 6000;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Milliseconds from spawning `npm start` until /readyz answers 200; the stack is stopped before returning. */
async function timedStart(dataDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child: ChildProcess = spawn(NPM, ['start', '--silent'], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, PORT: String(port), BREAKGLASS_DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group, so Ctrl-C reaches npm and the broker as it would from a terminal.
    detached: true,
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let ready = 0;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${output}`);
      if (performance.now() - started > 120_000) throw new Error(`not ready after 120 s:\n${output}`);
      const status = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })
        .then((response) => response.status)
        .catch(() => 0);
      if (status === 200) {
        ready = performance.now() - started;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGINT');
    await exited;
  }
  // npm itself dies of the SIGINT; the broker under it says how it stopped.
  if (!/\nstopped\n/.test(output)) throw new Error(`npm start did not stop cleanly:\n${output}`);
  return ready;
}

/**
 * Whether `npm start` will find dist/ current. `npm run bench` builds first and records what it compiled; a
 * dist/ compiled some other way (`tsc` by hand) is not recorded, and the first start below would compile.
 */
function distIsCurrent(): boolean {
  const check = spawnSync(process.execPath, ['infra/build-if-stale.mjs', '--check'], {
    cwd: PACKAGE_ROOT,
    stdio: 'ignore',
  });
  return check.status === 0;
}

export async function run(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bg-bench-start-'));
  try {
    const compiles = !distIsCurrent();
    const first = await timedStart(dataDir);
    const warm: number[] = [];
    for (let i = 0; i < SAMPLES; i++) warm.push(await timedStart(dataDir));
    const median = percentile(warm, 50);
    console.log(
      `npm start → /readyz 200 (DynamoDB Local, identity provider and broker up), ${SAMPLES} warm starts:`,
    );
    console.log(
      `  first start on a fresh data directory  ${(first / 1000).toFixed(2)} s (creates the table${compiles ? '; dist/ was not recorded as current, so this start compiled it first: run `npm run bench`, which builds before it measures' : ''})`,
    );
    console.log(
      `  warm                                   median ${(median / 1000).toFixed(2)} s  max ${(Math.max(...warm) / 1000).toFixed(2)} s  (target ≤ ${TARGET_MS / 1000} s) ${median <= TARGET_MS ? 'ok' : 'MISSED'}`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
