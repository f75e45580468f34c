/** `dev` and `doctor`. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { writeJson } from '../output.js';
import type { GlobalOptions } from './common.js';
import { missingConfig } from './config.js';

/** `breakglass dev`: the same local stack as `npm start`, in the foreground until Ctrl-C. */
export async function dev(ctx: CliContext): Promise<void> {
  ctx.stderr.write('Starting the local stack (same as `npm start`)…\n');
  // The module starts the stack and owns SIGINT/SIGTERM from here on.
  await import('../../api/local/main.js');
  await new Promise(() => undefined);
}

export interface DoctorOptions extends GlobalOptions {
  config?: string;
}

/**
 * `breakglass doctor`: reads every configured target role with iam:GetRole (with the caller's own AWS
 * credentials, like any AWS CLI tool) and reports whether the broker can assume it. Exit 1 when a role fails.
 */
export async function doctor(ctx: CliContext, options: DoctorOptions): Promise<void> {
  const candidate = options.config ?? ctx.env.BREAKGLASS_CONFIG ?? 'breakglass.yaml';
  const file = resolve(ctx.cwd, candidate);
  if (!existsSync(file)) {
    throw missingConfig(
      candidate,
      options.config !== undefined || Boolean(ctx.env.BREAKGLASS_CONFIG),
      'pass --config FILE or set BREAKGLASS_CONFIG',
    );
  }
  const [{ ConfigError, loadConfigFile }, { formatDoctorReport, runDoctor }] = await Promise.all([
    import('../../api/config/load.js'),
    import('../../api/services/doctor.js'),
  ]);
  let config: ReturnType<typeof loadConfigFile>;
  try {
    config = loadConfigFile(file);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new CliError(
        `${candidate} is invalid`,
        EXIT.error,
        `run \`breakglass config validate ${candidate}\``,
      );
    }
    throw error;
  }
  const { liveAws } = await import('../../api/adapters/aws/index.js');
  // The same adapters the broker uses: with aws.revokerRoleName each role is read in its own account.
  const aws = liveAws(config);
  const report = await runDoctor(config, aws.iam, aws.iamForAccount?.bind(aws));
  if (options.json) writeJson(ctx, report);
  else ctx.stdout.write(`${formatDoctorReport(report)}\n`);
  if (!report.ok) {
    const failed = report.roles.filter((role) => role.status === 'error').map((role) => role.roleId);
    throw new CliError(
      `${failed.length} role(s) cannot be assumed by the broker: ${failed.join(', ')}`,
      EXIT.error,
    );
  }
}
