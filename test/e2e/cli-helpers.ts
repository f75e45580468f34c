/** Helpers for the CLI end-to-end tests: run the built CLI as a subprocess, and play the user's browser. */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');

/** The suites need the compiled CLI (`npm test` builds first); build it when running a file on its own. */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(CLI)) return;
  await new Promise<void>((done, fail) =>
    execFile(
      'npx',
      ['tsc', '-p', 'tsconfig.build.json'],
      { cwd: resolve(import.meta.dirname, '../..') },
      (error) =>
        existsSync(CLI) ? done() : fail(error ?? new Error('build did not produce dist/cli/main.js')),
    ),
  );
}

/** A local port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function tempHome(prefix = 'bg-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A clean environment: nothing from the developer's own breakglass or AWS setup leaks in. */
export function cliEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      key.startsWith('BREAKGLASS_') ||
      key.startsWith('AWS_') ||
      key === 'NO_COLOR' ||
      key === 'FORCE_COLOR'
    )
      continue;
    env[key] = value;
  }
  return {
    ...env,
    HOME: home,
    BREAKGLASS_HOME: join(home, 'state'),
    NO_COLOR: '1',
    BREAKGLASS_NO_BROWSER: '1',
    ...extra,
  };
}

/** Runs `node dist/cli/main.js …` to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin.end(input ?? '');
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/** Starts the CLI and lets the test watch its output while it runs (device login, --wait). */
export function startCli(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  const finished = new Promise<CliResult>((done) =>
    child.on('close', (code) => done({ code: code ?? -1, ...output })),
  );
  return {
    child,
    output,
    finished,
    /** Resolves with the first match of `pattern` in stderr+stdout. */
    async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
      const started = Date.now();
      for (;;) {
        const match = (output.stderr + output.stdout).match(pattern);
        if (match) return match;
        if (Date.now() - started > timeoutMs) {
          throw new Error(
            `timed out waiting for ${pattern}; stderr: ${output.stderr} stdout: ${output.stdout}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/**
 * A minimal browser for the development provider's own pages: keeps cookies, follows redirects, submits the
 * auto-posting forms, fills in the dev login form (any password is accepted for a demo user) and presses
 * the confirm buttons — what a person does in a real browser.
 */
export async function completeBrowserLogin(
  startUrl: string,
  username: string,
  maxSteps = 20,
): Promise<string> {
  const cookies = new Map<string, string>();
  let request: { url: string; method: string; body?: URLSearchParams } = { url: startUrl, method: 'GET' };
  let lastPage = '';
  for (let step = 0; step < maxSteps; step++) {
    const response = await fetch(request.url, {
      method: request.method,
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(request.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(request.body ? { body: request.body } : {}),
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const index = pair!.indexOf('=');
      cookies.set(pair!.slice(0, index).trim(), pair!.slice(index + 1).trim());
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, request.url);
      // The loopback redirect of `login --browser` ends the provider's part.
      if (next.hostname === '127.0.0.1' && next.pathname === '/callback') {
        const callback = await fetch(next);
        return `callback ${callback.status}`;
      }
      request = { url: next.href, method: 'GET' };
      continue;
    }
    lastPage = await response.text();
    const form = /<form\b[^>]*>[\s\S]*?<\/form>/i.exec(lastPage)?.[0];
    if (!form) return lastPage;
    const action = /action="([^"]*)"/i.exec(form)?.[1] ?? request.url;
    const body = new URLSearchParams();
    for (const input of form.matchAll(/<input\b[^>]*>/gi)) {
      const name = /name="([^"]*)"/i.exec(input[0])?.[1];
      if (!name) continue;
      const value = /value="([^"]*)"/i.exec(input[0])?.[1] ?? '';
      if (name === 'login') body.set(name, username);
      else if (name === 'password') body.set(name, 'any-password');
      else body.set(name, value);
    }
    // Buttons may sit outside the form (form="…"); press the first named one that is not "abort".
    for (const button of lastPage.matchAll(/<button\b[^>]*>/gi)) {
      const name = /name="([^"]*)"/i.exec(button[0])?.[1];
      if (!name || name === 'abort') continue;
      body.set(name, /value="([^"]*)"/i.exec(button[0])?.[1] ?? '');
      break;
    }
    if (/Success|signed in|close this window/i.test(lastPage) && !body.has('xsrf')) return lastPage;
    request = { url: new URL(action.replace(/&amp;/g, '&'), request.url).href, method: 'POST', body };
  }
  throw new Error(`login did not finish in ${maxSteps} steps; last page: ${lastPage.slice(0, 500)}`);
}
