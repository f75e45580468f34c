/** `npm start` as a user meets it: the built entry point as a subprocess. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../api/package-root.js';

const MAIN = join(PACKAGE_ROOT, 'dist/api/local/main.js');

describe.skipIf(!existsSync(MAIN))('the local stack entry point', () => {
  it('says in one line that Java is missing, instead of a stack trace', () => {
    const run = spawnSync(process.execPath, [MAIN], {
      env: {
        PATH: '/nonexistent',
        PORT: '0',
        BREAKGLASS_DATA_DIR: join(tmpdir(), 'bg-nojava'),
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe(
      'breakglass: DynamoDB Local needs Java 17 or newer on PATH (e.g. `apt-get install -y openjdk-17-jre-headless`)',
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('lists every problem of an invalid config by path and refuses to start', () => {
    const run = spawnSync(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        BREAKGLASS_CONFIG: join(PACKAGE_ROOT, 'package.json'),
        BREAKGLASS_DATA_DIR: join(tmpdir(), 'bg-badconfig'),
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('invalid configuration');
    expect(run.stderr).toMatch(/- version: /);
    expect(run.stderr).toMatch(/- roles: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
