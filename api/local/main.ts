#!/usr/bin/env node
/** `npm start`: the local stack on its embedded defaults. */
import './quiet-warnings.js';
import { resolve } from 'node:path';
import { ConfigError } from '../config/load.js';
import { DEMO_USERS } from './demo-users.js';
import { startLocalStack } from './stack.js';

async function main(): Promise<void> {
  const dataDir = process.env.BREAKGLASS_DATA_DIR ?? '.breakglass';
  const stack = await startLocalStack({
    port: Number(process.env.PORT ?? 8787),
    dataDir,
    ...(process.env.BREAKGLASS_CONFIG ? { configPath: process.env.BREAKGLASS_CONFIG } : {}),
    // An already running DynamoDB (Local) and table instead of the embedded one (crash tests, shared dev DBs).
    ...(process.env.BREAKGLASS_DYNAMODB_ENDPOINT
      ? { dynamodbEndpoint: process.env.BREAKGLASS_DYNAMODB_ENDPOINT }
      : {}),
    ...(process.env.BREAKGLASS_TABLE ? { tableName: process.env.BREAKGLASS_TABLE } : {}),
  });
  const users = DEMO_USERS.map((user) => `${user.name} (${user.groups.join(', ') || 'no groups'})`).join(
    ', ',
  );
  const cli = `BREAKGLASS_URL=${stack.url} npx breakglass`;
  const { bunker: bunkerConfig } = stack.config;
  const bunker =
    bunkerConfig.kind === 's3'
      ? `s3://${bunkerConfig.bucket}/${bunkerConfig.prefix}`
      : resolve(dataDir, bunkerConfig.directory ?? 'bunker');
  process.stderr.write(
    [
      '',
      `Breakglass is running at ${stack.url}  (AWS: simulated — no real credentials are issued)`,
      `  approver pages     ${stack.url}/  (sign in as a demo user, any password)`,
      `  identity provider  ${stack.issuer}  (development only)`,
      `  DynamoDB Local     ${stack.dynamodbEndpoint}`,
      `  audit bunker       ${bunker}`,
      `  demo users         ${users}`,
      '',
      'Try it in another terminal:',
      `  ${cli} login --dev-user alice`,
      `  ${cli} request prod-readonly --duration 1h --reason "look at the incident"`,
      `  ${cli} login --dev-user bob && ${cli} approve <request id>`,
      '',
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  const shutdown = async (signal: string) => {
    process.stderr.write(`\n${signal}: stopping…\n`);
    await stack.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
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
