/** `config validate [FILE]`: the server's own schema, every problem by path. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { writeJson } from '../output.js';
import type { GlobalOptions } from './common.js';

export async function configValidate(
  ctx: CliContext,
  fileArg: string | undefined,
  options: GlobalOptions,
): Promise<void> {
  const candidate = fileArg ?? ctx.env.BREAKGLASS_CONFIG ?? 'breakglass.yaml';
  const file = resolve(ctx.cwd, candidate);
  if (!existsSync(file)) {
    throw missingConfig(
      candidate,
      fileArg !== undefined || Boolean(ctx.env.BREAKGLASS_CONFIG),
      'run `breakglass config validate FILE` or set BREAKGLASS_CONFIG',
    );
  }
  const { ConfigError, loadConfigFile } = await import('../../api/config/load.js');
  try {
    const config = loadConfigFile(file);
    const roleIds = config.roles.map((role) => role.id);
    if (options.json) {
      writeJson(ctx, { valid: true, file, roles: roleIds, problems: [] });
      return;
    }
    ctx.stdout.write(
      `${candidate} is valid: ${roleIds.length} role(s) (${roleIds.join(', ')}), aws mode ${config.aws.mode}\n`,
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (options.json) writeJson(ctx, { valid: false, file, problems: error.problems });
    else for (const problem of error.problems) ctx.stderr.write(`${candidate}: ${problem}\n`);
    const count = error.problems.length;
    throw new CliError(
      `${candidate} is invalid (${count} problem${count === 1 ? '' : 's'})`,
      EXIT.error,
      undefined,
      'invalid_config',
    );
  }
}

/** A config file that is not there is "not found" (exit 5), named or defaulted: never "invalid (1 problem)". */
export function missingConfig(candidate: string, named: boolean, hint: string): CliError {
  return new CliError(
    named ? `config file ${candidate} not found` : `no config file given and ./${candidate} does not exist`,
    EXIT.notFound,
    hint,
    'not_found',
  );
}
