/**
 * Lambda bundles: each function's size and its cold import time — a fresh `node` process importing the bundle,
 * which is what a Lambda cold start pays for our code — next to a fresh process importing an empty module. Run
 * after `npm run build`, which writes dist/lambda/.
 *
 * Two sizes per function, each flagged against the issue's target (http and audit ≤ 1 MiB, every other
 * ≤ 500 KiB): what a cold start loads (index.mjs and the chunks it imports statically) and what the function
 * deploys (every file in its folder, lazily loaded chunks included; source maps are written elsewhere and not
 * deployed).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PACKAGE_ROOT } from '../../api/package-root.js';

export const name = 'lambda';

const FUNCTIONS = ['http', 'audit', 'transition', 'sweeper', 'shipper'] as const;
const RUNS = Math.max(3, Number(process.env.BENCH_LAMBDA_RUNS ?? 7));
/** A budget, not a law: an import above this is worth a look at what the bundle pulls in. */
const TARGET_IMPORT_MS = 400;
/** The issue's size target per function (KiB), held against what a cold start loads and what is deployed. */
const TARGET_KIB: Record<(typeof FUNCTIONS)[number], number> = {
  http: 1024,
  // The audit routes' streaming function is the API app behind a response-streaming Function URL.
  audit: 1024,
  transition: 500,
  sweeper: 500,
  shipper: 500,
};

const verdict = (kib: number, target: number) => (kib <= target ? 'ok' : 'MISSED');

/**
 * Bytes of `file` plus every chunk it imports statically (`from"./…"`, `import"./…"`), recursively. Dynamic
 * `import("./…")` chunks (SSM, Secrets Manager, IAM, STS) load only when used and are left out.
 */
function staticBytes(file: string, seen = new Set<string>()): number {
  if (seen.has(file)) return 0;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  let total = statSync(file).size;
  for (const match of text.matchAll(/(?:from|import)\s*"(\.\.?\/[^"]+\.mjs)"/g)) {
    total += staticBytes(join(dirname(file), match[1]!), seen);
  }
  return total;
}

function bytesUnder(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((total, entry) => {
    const path = join(dir, entry.name);
    return total + (entry.isDirectory() ? bytesUnder(path) : statSync(path).size);
  }, 0);
}

/** Median wall time of a fresh node process that imports `file` and exits. */
function coldImportMs(file: string): number {
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    execFileSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(file)});`], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

const kib = (value: number) => value.toFixed(0).padStart(5);

export async function run(): Promise<void> {
  const root = join(PACKAGE_ROOT, 'dist', 'lambda');
  if (!existsSync(join(root, 'http', 'index.mjs'))) {
    console.log('lambda bundles missing: run `npm run build` first');
    return;
  }
  const empty = join(mkdtempSync(join(tmpdir(), 'bg-bench-')), 'empty.mjs');
  writeFileSync(empty, 'export {};\n');
  const baseline = coldImportMs(empty);
  console.log(`empty module import (fresh node)   ${baseline.toFixed(0)} ms  (median of ${RUNS})`);
  for (const fn of FUNCTIONS) {
    const dir = join(root, fn);
    const index = join(dir, 'index.mjs');
    const indexKiB = statSync(index).size / 1024;
    const totalKiB = bytesUnder(dir) / 1024;
    const staticKiB = staticBytes(index) / 1024;
    const target = TARGET_KIB[fn];
    const importMs = coldImportMs(index);
    const importVerdict = importMs - baseline <= TARGET_IMPORT_MS ? 'ok' : 'over';
    console.log(
      `${`lambda ${fn}`.padEnd(18)} index.mjs ${kib(indexKiB)} KiB  cold start loads ${kib(staticKiB)} KiB (≤ ${target}: ${verdict(
        staticKiB,
        target,
      )})  deploys ${kib(totalKiB)} KiB (≤ ${target}: ${verdict(totalKiB, target)})  cold import ${importMs
        .toFixed(0)
        .padStart(
          4,
        )} ms (+${(importMs - baseline).toFixed(0)} ms over empty; budget +${TARGET_IMPORT_MS}: ${importVerdict})`,
    );
  }
}
