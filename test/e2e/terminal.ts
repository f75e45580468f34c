/**
 * A real pseudo-terminal for CLI tests: tmux runs the built CLI in a detached session (its own server socket),
 * the test types keys into it and reads the screen. What a person sees and presses, exit code included.
 */
import { execFileSync } from 'node:child_process';
import { CLI } from './cli-helpers.js';

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
let sessions = 0;

export class Terminal {
  private constructor(
    private readonly socket: string,
    private readonly name: string,
  ) {}

  /** Starts `breakglass args…` on a 160×40 terminal with exactly `env`; the shell prints `[exit N]` after. */
  static start(args: string[], env: NodeJS.ProcessEnv): Terminal {
    sessions += 1;
    const socket = `bg-e2e-${process.pid}`;
    const name = `cli${sessions}`;
    const assignments = Object.entries(env)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([key, value]) => `${key}=${quote(value)}`);
    const command = `env -i ${assignments.join(' ')} ${quote(process.execPath)} ${quote(CLI)} ${args.map(quote).join(' ')}; echo "[exit $?]"; sleep 600`;
    execFileSync('tmux', ['-L', socket, 'new-session', '-d', '-s', name, '-x', '160', '-y', '40', command]);
    return new Terminal(socket, name);
  }

  /** Types text (literally) and optionally presses Enter. */
  type(text: string, enter = true): void {
    if (text) execFileSync('tmux', ['-L', this.socket, 'send-keys', '-t', this.name, '-l', text]);
    if (enter) this.press('Enter');
  }

  /** Presses a key by tmux name: Enter, C-c, … */
  press(key: string): void {
    execFileSync('tmux', ['-L', this.socket, 'send-keys', '-t', this.name, key]);
  }

  /** The screen and its scroll-back, trailing blanks trimmed. */
  screen(): string {
    return execFileSync(
      'tmux',
      ['-L', this.socket, 'capture-pane', '-p', '-J', '-S', '-200', '-t', this.name],
      {
        encoding: 'utf8',
      },
    )
      .split('\n')
      .map((line) => line.trimEnd())
      .join('\n')
      .trimEnd();
  }

  /** Waits until the screen matches; fails with the screen when it does not within `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const started = Date.now();
    for (;;) {
      const match = this.screen().match(pattern);
      if (match) return match;
      if (Date.now() - started > timeoutMs) {
        throw new Error(`timed out waiting for ${pattern}; screen:\n${this.screen()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The CLI's exit code, once it has exited. */
  async exitCode(timeoutMs = 20_000): Promise<number> {
    const [, code] = await this.waitFor(/\[exit (\d+)\]/, timeoutMs);
    return Number(code);
  }

  close(): void {
    try {
      execFileSync('tmux', ['-L', this.socket, 'kill-session', '-t', this.name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }

  /** Stops this test process's tmux server (every session it started). */
  static closeAll(): void {
    try {
      execFileSync('tmux', ['-L', `bg-e2e-${process.pid}`, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // no server was started
    }
  }
}
