#!/usr/bin/env node
/**
 * `breakglass`: the entry point and the only place that exits the process. A cached `credentials` answer and
 * `--version` are served before any other module loads, because `aws` runs credential_process on every call.
 */
import { cachedCredentialsFor } from './credential-cache.js';

const argv = process.argv.slice(2);
const cached = cachedCredentialsFor(argv, process.env);

if (cached !== null) {
  process.stdout.write(`${cached}\n`);
} else if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { cliVersion } = await import('./version.js');
  process.stdout.write(`${cliVersion()}\n`);
} else {
  await import('../api/local/quiet-warnings.js');
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    controller.abort();
  });
  const [{ processContext }, { run }] = await Promise.all([import('./context.js'), import('./run.js')]);
  const code = await run(argv, processContext(controller.signal));
  // Let stdout drain (it may be a pipe) before exiting; open sockets must not keep the process alive.
  process.stdout.write('', () => process.exit(code));
}
