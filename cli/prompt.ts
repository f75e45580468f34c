/** Questions at a terminal: one readline for a whole conversation, answers checked and asked again until valid. */
import { createInterface, type Interface } from 'node:readline';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './errors.js';

/** Checks an answer: the value to use, or a one-line reason to ask again. */
export type Check<T> = (answer: string) => { value: T } | { problem: string };

export class Prompter {
  private rl: Interface | null = null;

  constructor(
    private readonly ctx: CliContext,
    /** What Ctrl-C at a question means, e.g. "nothing was requested". */
    private readonly onInterrupt: string,
  ) {}

  /** Asks until `check` accepts the answer; each refusal is one line on stderr. */
  async ask<T>(question: string, check: Check<T>): Promise<T> {
    for (;;) {
      const verdict = check((await this.question(question)).trim());
      if ('value' in verdict) return verdict.value;
      this.ctx.stderr.write(`  ${verdict.problem}\n`);
    }
  }

  close(): void {
    this.rl?.close();
    this.rl = null;
  }

  private question(text: string): Promise<string> {
    const rl = this.interface();
    return new Promise((resolve, reject) => {
      const interrupted = () => {
        cleanup();
        this.ctx.stderr.write('\n');
        this.close();
        reject(new CliError(`interrupted; ${this.onInterrupt}`, EXIT.interrupted));
      };
      const cleanup = () => {
        rl.off('SIGINT', interrupted);
        rl.off('close', closed);
        this.ctx.signal.removeEventListener('abort', interrupted);
      };
      // Input ended (Ctrl-D, or a pipe that closed) before an answer: nothing more will come.
      const closed = () => {
        cleanup();
        this.rl = null;
        reject(new CliError(`no answer to "${text.trim()}"; ${this.onInterrupt}`, EXIT.usage));
      };
      // In raw mode Ctrl-C reaches readline as a key, not as a signal to the process.
      rl.once('SIGINT', interrupted);
      rl.once('close', closed);
      if (this.ctx.signal.aborted) return interrupted();
      this.ctx.signal.addEventListener('abort', interrupted, { once: true });
      rl.question(text, (answer) => {
        cleanup();
        resolve(answer);
      });
    });
  }

  private interface(): Interface {
    this.rl ??= createInterface({
      input: this.ctx.stdin,
      output: this.ctx.stderr as NodeJS.WritableStream,
      // Line editing (and Ctrl-C as a key) only on a real terminal, which can be put in raw mode.
      terminal:
        Boolean(this.ctx.stdin.isTTY) &&
        typeof (this.ctx.stdin as { setRawMode?: unknown }).setRawMode === 'function',
    });
    return this.rl;
  }
}
