/** `npm start` compiles only when dist/ is not current (infra/build-if-stale.mjs), on a scratch tree. */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inputsFingerprint, isCurrent } from '../../infra/build-if-stale.mjs';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'bg-stale-'));
  for (const dir of ['api/local', 'cli', 'bench', 'dist/api/local', 'dist/cli']) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'api/a.ts', 'cli/main.ts']) {
    writeFileSync(join(root, file), 'x');
  }
  writeFileSync(join(root, 'dist/api/local/main.js'), '');
  writeFileSync(join(root, 'dist/cli/main.js'), '');
  return root;
}

const record = (root: string) =>
  writeFileSync(
    join(root, 'dist/.build-inputs.json'),
    JSON.stringify({ fingerprint: inputsFingerprint(root).fingerprint }),
  );

describe('build-if-stale', () => {
  it('is current right after a recorded build, and only then', () => {
    const root = tree();
    expect(isCurrent(inputsFingerprint(root).fingerprint, root)).toBe(false);
    record(root);
    expect(isCurrent(inputsFingerprint(root).fingerprint, root)).toBe(true);
  });

  it.each([
    ['an edited source', (root: string) => writeFileSync(join(root, 'api/a.ts'), 'changed')],
    ['a touched source', (root: string) => utimesSync(join(root, 'cli/main.ts'), new Date(0), new Date(0))],
    ['a new source', (root: string) => writeFileSync(join(root, 'api/local/b.ts'), 'x')],
    ['a deleted source', (root: string) => rmSync(join(root, 'api/a.ts'))],
    ['a changed tsconfig', (root: string) => writeFileSync(join(root, 'tsconfig.build.json'), '{}')],
    ['a missing entry point', (root: string) => rmSync(join(root, 'dist/cli/main.js'))],
  ])('is stale after %s', (_name, change) => {
    const root = tree();
    record(root);
    change(root);
    expect(isCurrent(inputsFingerprint(root).fingerprint, root)).toBe(false);
  });

  it('ignores what is not a compiler input (tests, docs, dist itself)', () => {
    const root = tree();
    record(root);
    mkdirSync(join(root, 'test'));
    writeFileSync(join(root, 'test/x.test.ts'), 'x');
    writeFileSync(join(root, 'README.md'), 'x');
    writeFileSync(join(root, 'dist/api/local/extra.js'), 'x');
    expect(isCurrent(inputsFingerprint(root).fingerprint, root)).toBe(true);
  });
});
