/** The whole broker on one machine: DynamoDB Local, the development OIDC provider, the API and the sweeper. */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import type { AwsAdapters } from '../adapters/aws/ports.js';
import { OUTBOX_GRACE_SECONDS } from '../adapters/dynamodb/store.js';
import { ensureTable } from '../adapters/dynamodb/table.js';
import { type Broker, buildBroker } from '../compose.js';
import { ConfigError, exampleConfigPath, loadConfigFile } from '../config/load.js';
import type { BreakglassConfig } from '../config/schema.js';
import type { CloudTrailSource } from '../ports/cloudtrail.js';
import { createLogger, type Logger } from '../services/logger.js';
import type { Clock } from '../services/ports.js';
import { SealerLoop } from '../services/sealer.js';
import { Sweeper } from '../services/sweeper.js';
import type { DemoUser } from './demo-users.js';
import { createDevOidcProvider } from './dev-oidc.js';
import { type RunningDynamoDb, startDynamoDbLocal } from './dynamodb-local.js';

export const OIDC_PATH = '/oidc';

export interface LocalStackOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  /** Path of the config file; the example config when omitted. */
  configPath?: string;
  /** An already-parsed config (tests); wins over configPath. */
  config?: BreakglassConfig;
  /** Use a DynamoDB (Local) that is already running instead of starting one. */
  dynamodbEndpoint?: string;
  /** Keep DynamoDB Local in memory instead of under dataDir. */
  inMemory?: boolean;
  tableName?: string;
  sweepIntervalSeconds?: number;
  /** How often the bunker shipper runs (default 2 s, or BREAKGLASS_SHIP_INTERVAL). */
  shipIntervalSeconds?: number;
  logger?: Logger;
  clock?: Clock;
  /** People the development provider knows; DEMO_USERS when omitted. */
  demoUsers?: readonly DemoUser[];
  /** AWS adapters for tests (live adapters on mocked SDK clients); simulated ones when omitted. */
  aws?: AwsAdapters;
  /** The organisation trail for activity reviews (tests); built from config when omitted. */
  cloudtrail?: CloudTrailSource;
}

export interface LocalStack {
  url: string;
  issuer: string;
  port: number;
  config: BreakglassConfig;
  broker: Broker;
  sweeper: Sweeper;
  /** The in-process sealer loop (`await stack.sealing.idle()` waits for sealing and shipping to catch up). */
  sealing: SealerLoop;
  dynamodbEndpoint: string;
  stop(): Promise<void>;
}

/** The local stack points the broker at its own development provider and never talks to real AWS. */
export function localConfig(config: BreakglassConfig, url: string): BreakglassConfig {
  if (config.aws.mode === 'live') {
    throw new ConfigError('local stack', [
      'aws.mode: the local stack only runs with `simulated`; its development logins must never reach real AWS',
    ]);
  }
  return {
    ...config,
    oidc: {
      ...config.oidc,
      issuer: `${url}${OIDC_PATH}`,
      webClientId: config.oidc.webClientId ?? 'breakglass-web',
    },
    web: { ...config.web, publicUrl: url },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolvePort(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const dataDir = resolve(options.dataDir ?? '.breakglass');
  const logger = options.logger ?? createLogger();
  const baseConfig = options.config ?? loadConfigFile(options.configPath ?? exampleConfigPath);

  // Listen first (port 0 picks a free one) so the issuer URL is known before the provider is built.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end('starting');
  };
  const server = createServer((req, res) => handler(req, res));
  const port = await listen(server, options.port ?? 8787, host);
  const url = `http://${host}:${port}`;
  const config = localConfig(baseConfig, url);

  let dynamo: RunningDynamoDb | null = null;
  try {
    if (!options.dynamodbEndpoint) {
      dynamo = await startDynamoDbLocal(options.inMemory ? {} : { dataDir: join(dataDir, 'dynamodb') });
    }
    const dynamodbEndpoint = options.dynamodbEndpoint ?? dynamo!.endpoint;
    const tableName = options.tableName ?? 'breakglass';
    const webClientSecret =
      process.env.BREAKGLASS_DEV_WEB_CLIENT_SECRET ?? randomBytes(24).toString('base64url');
    const provider = await createDevOidcProvider({
      issuer: config.oidc.issuer,
      audience: config.oidc.audience,
      cliClientId: config.oidc.clientId,
      webClientId: config.oidc.webClientId ?? 'breakglass-web',
      webClientSecret,
      webRedirectUri: `${url}/auth/callback`,
      keyFile: join(dataDir, 'dev-oidc-keys.json'),
      ...(options.demoUsers ? { demoUsers: options.demoUsers } : {}),
    });
    // The web client's secret is the one just registered with the development provider; the cookie key comes
    // from the configured env var when set, else a fresh one (sessions then end when the stack restarts).
    const cookieSecret = process.env[config.web.cookieSecretEnv] ?? randomBytes(32).toString('base64url');
    const broker = buildBroker({
      config,
      logger,
      tableName,
      web: { clientSecret: webClientSecret, cookieSecret },
      dynamodbEndpoint,
      devMode: true,
      publicUrl: url,
      dataDir,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.aws ? { aws: options.aws } : {}),
      ...(options.cloudtrail ? { cloudtrail: options.cloudtrail } : {}),
    });
    await ensureTable(broker.dynamodb, tableName);

    const oidcCallback = provider.callback();
    const apiListener = getRequestListener(broker.app.fetch);
    handler = (req, res) => {
      if (
        req.url === OIDC_PATH ||
        req.url?.startsWith(`${OIDC_PATH}/`) ||
        req.url?.startsWith(`${OIDC_PATH}?`)
      ) {
        // Mounted like Express would: oidc-provider derives its mount path from originalUrl.
        (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
        req.url = req.url.slice(OIDC_PATH.length) || '/';
        oidcCallback(req, res);
        return;
      }
      void apiListener(req, res);
    };

    const interval = options.sweepIntervalSeconds ?? Number(process.env.BREAKGLASS_SWEEP_INTERVAL ?? 30);
    const sweeper = new Sweeper(broker.requests, logger, Math.max(1, interval) * 1000);
    for (const task of broker.sweepTasks) sweeper.addTask(task);
    sweeper.start();
    // Locally the sealer runs in-process, woken after every commit (and on an interval as a fallback): it
    // chains, ships to <dataDir>/bunker/ and signs. In AWS the table's stream triggers the sealer Lambda.
    const shipEvery = options.shipIntervalSeconds ?? Number(process.env.BREAKGLASS_SHIP_INTERVAL ?? 2);
    const sealing = new SealerLoop(broker.sealer, logger, Math.max(0.1, shipEvery) * 1000);
    broker.requests.onCommit(() => sealing.wake());
    sealing.start();
    // This process is the only broker on its table: effects still owed now were left by one that died.
    void broker.outbox
      .drain(new Date(Date.now() + OUTBOX_GRACE_SECONDS * 1000))
      .catch((error: unknown) => logger.error({ err: error }, 'outbox relay failed at start-up'));

    return {
      url,
      issuer: config.oidc.issuer,
      port,
      config,
      broker,
      sweeper,
      sealing,
      dynamodbEndpoint,
      stop: async () => {
        await sweeper.stop();
        await broker.audit.flushReads();
        await sealing.stop();
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
        broker.close();
        await dynamo?.stop();
      },
    };
  } catch (error) {
    server.close();
    await dynamo?.stop();
    throw error;
  }
}
