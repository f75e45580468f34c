/** Everything a command touches in the outside world, injected so tests can run commands in-process. */
import { homedir } from 'node:os';
import { breakglassHome } from './credential-cache.js';

export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Input {
  isTTY?: boolean;
}

export interface CliContext {
  env: Record<string, string | undefined>;
  /** The user's home directory (for ~/.aws/config and the default BREAKGLASS_HOME). */
  home: string;
  cwd: string;
  fetch: typeof fetch;
  stdout: Output;
  stderr: Output;
  stdin: Input & NodeJS.ReadableStream;
  /** Opens a URL in the user's browser; resolves false when it could not. */
  openUrl: (url: string) => Promise<boolean>;
  now: () => number;
  /** Aborted on Ctrl-C, so waits and polls stop cleanly. */
  signal: AbortSignal;
}

/** The real process, for cli/main.ts. */
export function processContext(signal: AbortSignal): CliContext {
  return {
    env: process.env,
    home: homedir(),
    cwd: process.cwd(),
    fetch: globalThis.fetch,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    openUrl: openInBrowser,
    now: () => Date.now(),
    signal,
  };
}

export function stateDir(ctx: CliContext): string {
  return breakglassHome(ctx.env, ctx.home);
}

/** Prompts and spinners only for a person at a terminal, never for scripts or `--json`. */
export function interactive(ctx: CliContext, json: boolean): boolean {
  return !json && Boolean(ctx.stdin.isTTY && ctx.stderr.isTTY) && !ctx.env.CI;
}

/** Opens a URL with the platform's opener; BREAKGLASS_NO_BROWSER=1 turns it off. */
async function openInBrowser(url: string): Promise<boolean> {
  if (process.env.BREAKGLASS_NO_BROWSER) return false;
  const { spawn } = await import('node:child_process');
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  return new Promise((resolve) => {
    try {
      const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}
