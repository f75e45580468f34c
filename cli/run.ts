/** Runs one CLI invocation in-process and returns its exit code; cli/main.ts is the only caller of process.exit. */
import { CommanderError } from 'commander';
import type { CliContext } from './context.js';
import { CliError, EXIT, renderError } from './errors.js';
import { buildProgram } from './program.js';
import { cliVersion } from './version.js';

export async function run(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx, cliVersion());
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    return report(ctx, error);
  }
}

function report(ctx: CliContext, error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return EXIT.ok;
    const path = (error as CommanderError & { commandPath?: string }).commandPath ?? 'breakglass';
    if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') {
      // Help for a bare `breakglass` or `breakglass audit` was already printed to stderr.
      return EXIT.usage;
    }
    const message = error.message.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ');
    ctx.stderr.write(renderError(new CliError(message, EXIT.usage, `see \`${path} --help\``)));
    return EXIT.usage;
  }
  if (error instanceof CliError) {
    if (error.exitCode === EXIT.interrupted && error.code === 'interrupted') return error.exitCode;
    ctx.stderr.write(renderError(error));
    return error.exitCode;
  }
  // A bug: still one line, the stack only on request.
  const text = error instanceof Error ? error.message : String(error);
  ctx.stderr.write(
    renderError(new CliError(`unexpected error: ${text}`, EXIT.error, 'set BREAKGLASS_DEBUG=1 for details')),
  );
  if (ctx.env.BREAKGLASS_DEBUG && error instanceof Error && error.stack) ctx.stderr.write(`${error.stack}\n`);
  return EXIT.error;
}
