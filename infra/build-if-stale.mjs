#!/usr/bin/env node
/**
 * `npm start` runs this first: compile with `tsc -p tsconfig.build.json` only when dist/ is not current.
 * Compiling costs ~8 s on a laptop, checking costs milliseconds, and a warm restart must not pay for a build
 * nobody needed. dist/ is current when dist/.build-inputs.json records exactly the sources tsc compiled
 * (every file under api/, cli/ and bench/, the tsconfigs and package.json, each by path, size and mtime) and
 * the entry points it produced still exist. An edit, a new or deleted file, or a checkout that changes mtimes
 * all make it stale; then tsc runs and the record is rewritten.
 *
 * `--check` only reports (exit 0 current, 1 stale); `--force` always compiles. `npm start` calls buildIfStale
 * from infra/start.mjs, in the process that then runs the stack.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RECORD = join('dist', '.build-inputs.json');
const SOURCE_DIRS = ['api', 'cli', 'bench'];
const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
const OUTPUTS = ['dist/api/local/main.js', 'dist/cli/main.js'];

/** A fingerprint of every input tsc reads from this repository. */
export function inputsFingerprint(root = ROOT) {
  const files = [...SOURCE_FILES.map((file) => join(root, file))];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir));
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    const stat = statSync(file, { throwIfNoEntry: false });
    hash.update(`${relative(root, file)}\0${stat ? `${stat.size}:${stat.mtimeMs}` : 'missing'}\n`);
  }
  return { fingerprint: hash.digest('hex'), files: files.length };
}

/** Whether dist/ was compiled from exactly these inputs and still holds its entry points. */
export function isCurrent(fingerprint, root = ROOT) {
  if (OUTPUTS.some((output) => !existsSync(join(root, output)))) return false;
  try {
    return JSON.parse(readFileSync(join(root, RECORD), 'utf8')).fingerprint === fingerprint;
  } catch {
    return false;
  }
}

function compile() {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  return result.status ?? 1;
}

/**
 * Compiles unless dist/ is current (always with `force`; never with `checkOnly`, which only reports). Returns an
 * exit status: 0 when dist/ is current afterwards. One line on stderr says which happened.
 */
export function buildIfStale({ force = false, checkOnly = false } = {}) {
  const started = Date.now();
  // Taken before compiling: an edit made while tsc runs leaves the record stale, so the next start compiles.
  const { fingerprint, files } = inputsFingerprint();
  if (!force && isCurrent(fingerprint)) {
    process.stderr.write(`dist/ is current (${files} source files checked in ${Date.now() - started} ms)\n`);
    return 0;
  }
  if (checkOnly) {
    process.stderr.write('dist/ is stale\n');
    return 1;
  }
  process.stderr.write('compiling (dist/ is not current)…\n');
  const status = compile();
  if (status !== 0) return status;
  writeFileSync(join(ROOT, RECORD), `${JSON.stringify({ fingerprint, files }, null, 2)}\n`);
  process.stderr.write(`compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exit(
    buildIfStale({ force: process.argv.includes('--force'), checkOnly: process.argv.includes('--check') }),
  );
}
