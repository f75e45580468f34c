/**
 * `npm start`'s "Try it" lines, run as printed (with `npx breakglass` → the built CLI) against a local stack:
 * each demo user has their own CLI home, so bob's approval of alice's request works instead of being refused
 * as a self-approval.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBanner } from '../../api/local/banner.js';
import { DEMO_USERS } from '../../api/local/demo-users.js';
import type { LocalStack } from '../../api/local/stack.js';
import { startTestStack } from '../support/stack.js';
import { CLI, cliEnv, ensureBuilt, tempHome } from './cli-helpers.js';

function sh(line: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile('sh', ['-c', line], { env }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('the start banner', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    await ensureBuilt();
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('prints commands that work as printed, each user in their own BREAKGLASS_HOME', async () => {
    const dataDir = tempHome('bg-banner-');
    const banner = startBanner({
      url: stack.url,
      issuer: stack.issuer,
      dynamodbEndpoint: stack.dynamodbEndpoint,
      bunker: '/tmp/bunker',
      dataDir,
      users: DEMO_USERS,
    });
    const lines = banner
      .split('\n')
      .filter((line) => line.includes('npx breakglass'))
      .map((line) => line.trim().replace(/\s+#.*$/, ''));
    expect(lines).toHaveLength(4);
    const homes = lines.map((line) => /BREAKGLASS_HOME=(\S+)/.exec(line)?.[1]);
    expect(new Set(homes).size).toBe(2);
    // A clean environment: no BREAKGLASS_HOME or BREAKGLASS_URL of the test runner's own.
    const env = cliEnv(tempHome('bg-banner-home-'));
    delete env.BREAKGLASS_HOME;
    let id = '';
    for (const line of lines) {
      const command = line.replace('npx breakglass', `${process.execPath} ${CLI}`).replace('REQUEST_ID', id);
      const result = await sh(command, env);
      expect(result.code, `${line}\n${result.stderr}`).toBe(0);
      id ||= /req_[0-9A-Z]{26}/.exec(result.stdout)?.[0] ?? '';
    }
    expect(id).toMatch(/^req_/);
  });
});
