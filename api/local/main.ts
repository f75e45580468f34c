#!/usr/bin/env node
/** `npm start`: the local stack on its embedded defaults. */
import './quiet-warnings.js';
import { resolve } from 'node:path';
import { ConfigError } from '../config/load.js';
import { startBanner } from './banner.js';
import { DEMO_USERS } from './demo-users.js';
import { QUICK_START_JVM } from './dynamodb-local.js';
import { startLocalStack } from './stack.js';

async function main(): Promise<void> {
  const dataDir = process.env.BREAKGLASS_DATA_DIR ?? '.breakglass';
  const stack = await startLocalStack({
    port: Number(process.env.PORT ?? 8787),
    dataDir,
    // A developer's stack should be up in seconds; its DynamoDB Local never needs the JVM's peak throughput.
    dynamodbJvmOptions: QUICK_START_JVM,
    ...(process.env.BREAKGLASS_CONFIG ? { configPath: process.env.BREAKGLASS_CONFIG } : {}),
    // An already running DynamoDB (Local) and table instead of the embedded one (crash tests, shared dev DBs).
    ...(process.env.BREAKGLASS_DYNAMODB_ENDPOINT
      ? { dynamodbEndpoint: process.env.BREAKGLASS_DYNAMODB_ENDPOINT }
      : {}),
    ...(process.env.BREAKGLASS_TABLE ? { tableName: process.env.BREAKGLASS_TABLE } : {}),
  });
  // Ctrl-C or SIGTERM: stop accepting, let accepted requests finish, stop the loops, then DynamoDB Local. A
  // second signal stops at once. Either way one line per step, never a stack trace. Installed before the banner
  // is printed, because whoever reads it may signal at once (a test runner did, and the broker died unstopped).
  let signals = 0;
  const shutdown = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`${signal} again: stopping now\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${signal}: stopping (finishing ${stack.inFlight()} request(s) in flight)…\n`);
    stack.stop({ drainMs: Number(process.env.BREAKGLASS_DRAIN_SECONDS ?? 10) * 1000 }).then(
      () => {
        process.stderr.write('stopped\n');
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`breakglass: stopping failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  const { bunker: bunkerConfig } = stack.config;
  const bunker =
    bunkerConfig.kind === 's3'
      ? `s3://${bunkerConfig.bucket}/${bunkerConfig.prefix}`
      : resolve(dataDir, bunkerConfig.directory ?? 'bunker');
  process.stderr.write(
    startBanner({
      url: stack.url,
      issuer: stack.issuer,
      dynamodbEndpoint: stack.dynamodbEndpoint,
      bunker,
      dataDir: resolve(dataDir),
      users: DEMO_USERS,
    }),
  );
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(
      `breakglass: port ${process.env.PORT ?? 8787} is in use; set PORT to another port\n`,
    );
  } else {
    process.stderr.write(`breakglass: ${(error as Error).message}\n`);
  }
  process.exit(1);
});
