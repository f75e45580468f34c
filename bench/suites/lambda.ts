/**
 * Lambda bundles: each function's size (entry file and with its lazily loaded chunks) and its cold import time
 * — a fresh `node` process importing the bundle, which is what a Lambda cold start pays for our code — next to
 * a fresh process importing an empty module. Run after `npm run build`, which writes dist/lambda/.
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
/** What a cold start loads (the entry and the chunks it imports statically), per function. */
const TARGET_STATIC_KIB: Record<(typeof FUNCTIONS)[number], number> = {
  http: 1024,
  // The audit routes' streaming function is the API app behind a response-streaming Function URL.
  audit: 1024,
  transition: 500,
  sweeper: 500,
  shipper: 500,
};

/**
 * Bytes of `file` plus every chunk it imports statically (`from"./…"`, `import"./…"`), recursively. Dynamic
 * `import("./…")` chunks (Slack's client, SSM, Secrets Manager) load only when used and are left out.
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
    const sizeVerdict = staticKiB <= TARGET_STATIC_KIB[fn] ? 'ok' : 'MISSED';
    const importMs = coldImportMs(index);
    const verdict = importMs - baseline <= TARGET_IMPORT_MS ? 'ok' : 'over';
    console.log(
      `${`lambda ${fn}`.padEnd(18)} index.mjs ${indexKiB.toFixed(0).padStart(5)} KiB  loaded at cold start ${staticKiB
        .toFixed(0)
        .padStart(5)} KiB (target ≤ ${TARGET_STATIC_KIB[fn]} KiB: ${sizeVerdict})  with lazy chunks ${totalKiB
        .toFixed(0)
        .padStart(
          5,
        )} KiB  cold import ${importMs.toFixed(0).padStart(4)} ms  (+${(importMs - baseline).toFixed(0)} ms over empty; target +${TARGET_IMPORT_MS} ms: ${verdict})`,
    );
  }
}
