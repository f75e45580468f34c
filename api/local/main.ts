#!/usr/bin/env node
/** `npm start`: the local stack on its embedded defaults. */
import './thread-pool.js';
import './quiet-warnings.js';
import { resolve } from 'node:path';
import { startBanner } from './banner.js';
import { DEMO_USERS } from './demo-users.js';
import {
  dynamoDataDir,
  QUICK_START_JVM,
  type RunningDynamoDb,
  startDynamoDbLocal,
} from './dynamodb-local.js';

const dataDir = process.env.BREAKGLASS_DATA_DIR ?? '.breakglass';
// An already running DynamoDB (Local) and table instead of the embedded one (crash tests, shared dev DBs).
const dynamodbEndpoint = process.env.BREAKGLASS_DYNAMODB_ENDPOINT;
// Cancels a DynamoDB Local still starting when the stack cannot start (a bad config, a port in use).
const cancelStart = new AbortController();
// The JVM is spawned before the broker's modules load (about 1.5 s of imports), so the two overlap: most of
// `npm start`'s wait is DynamoDB Local starting. A developer's stack never needs the JVM's peak throughput.
const dynamodb: Promise<RunningDynamoDb> | undefined = dynamodbEndpoint
  ? undefined
  : startDynamoDbLocal({
      dataDir: dynamoDataDir(dataDir),
      jvmOptions: QUICK_START_JVM,
      signal: cancelStart.signal,
    });
// Awaited by the stack, or stopped below; this keeps an early failure from being reported as unhandled.
dynamodb?.catch(() => undefined);

async function main(): Promise<void> {
  const { startLocalStack } = await import('./stack.js');
  const stack = await startLocalStack({
    port: Number(process.env.PORT ?? 8787),
    dataDir,
    ...(dynamodb ? { dynamodb } : {}),
    ...(process.env.BREAKGLASS_CONFIG ? { configPath: process.env.BREAKGLASS_CONFIG } : {}),
    ...(dynamodbEndpoint ? { dynamodbEndpoint } : {}),
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

main().catch(async (error: unknown) => {
  const { ConfigError } = await import('../config/load.js');
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(
      `breakglass: port ${process.env.PORT ?? 8787} is in use; set PORT to another port\n`,
    );
  } else {
    process.stderr.write(`breakglass: ${(error as Error).message}\n`);
  }
  cancelStart.abort();
  await dynamodb?.then(
    (running) => running.stop(),
    () => undefined,
  );
  process.exit(1);
});
