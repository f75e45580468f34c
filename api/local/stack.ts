/** The whole broker on one machine: DynamoDB Local, the development OIDC provider, the API and the sweeper. */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { OUTBOX_GRACE_SECONDS } from '../adapters/dynamodb/store.js';
import { ensureTable } from '../adapters/dynamodb/table.js';
import { createLogger } from '../adapters/logging/pino.js';
import { MemoryRateLimiter } from '../adapters/memory/rate-limiter.js';
import { type Broker, buildBroker } from '../compose-http.js';
import { ConfigError, exampleConfigPath, loadConfigFile } from '../config/load.js';
import type { BreakglassConfig } from '../config/schema.js';
import { problemBody } from '../http/problem.js';
import type { AwsAdapters } from '../ports/aws.js';
import type { Clock } from '../ports/clock.js';
import type { CloudTrailSource } from '../ports/cloudtrail.js';
import { newUlid } from '../ports/ids.js';
import type { Logger } from '../ports/logger.js';
import { windowStart } from '../ports/rate-limiter.js';
import { SealerLoop } from '../services/sealer.js';
import { Sweeper } from '../services/sweeper.js';
import type { DemoUser } from './demo-users.js';
import { createDevOidcProvider } from './dev-oidc.js';
import { dynamoDataDir, type RunningDynamoDb, startDynamoDbLocal } from './dynamodb-local.js';

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
  /**
   * A DynamoDB Local the caller has already begun starting (`npm start` spawns the JVM before it loads the
   * broker's modules, so the two overlap). Once the stack has started it stops it on stop(); if the stack
   * cannot start, cleaning it up stays with the caller, who may cancel a start still under way.
   */
  dynamodb?: Promise<RunningDynamoDb>;
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
  /**
   * Stops in order: new requests get 503 `shutting_down` (Retry-After, `Connection: close`) while the ones
   * already accepted finish (at most `drainMs`, default 10 s), then the listener closes, then the sweeper and
   * the sealer loop stop, then DynamoDB Local. Calling it twice waits for the first call.
   */
  stop(options?: { drainMs?: number }): Promise<void>;
  /** Requests accepted and not yet answered. */
  inFlight(): number;
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

function isOidcPath(url: string | undefined): boolean {
  return url === OIDC_PATH || !!url?.startsWith(`${OIDC_PATH}/`) || !!url?.startsWith(`${OIDC_PATH}?`);
}

/** A request that arrives on an open connection while the stack stops: refused cleanly, never dropped. */
function refuseWhileStopping(res: ServerResponse): void {
  const body = problemBody('shutting_down', 'the broker is stopping; retry shortly', `r_${newUlid()}`);
  res.writeHead(503, {
    'content-type': 'application/problem+json',
    'retry-after': '1',
    'x-request-id': body.requestId,
    connection: 'close',
  });
  res.end(JSON.stringify(body));
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const dataDir = resolve(options.dataDir ?? '.breakglass');
  const logger = options.logger ?? createLogger();
  const baseConfig = options.config ?? loadConfigFile(options.configPath ?? exampleConfigPath);

  // Listen first (port 0 picks a free one) so the issuer URL is known before the provider is built.
  let handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void> = (_req, res) => {
    res.statusCode = 503;
    res.end('starting');
  };
  // Every request is counted until its response closes, so a stop can let accepted requests finish.
  const active = new Set<ServerResponse>();
  let draining = false;
  let drained: (() => void) | null = null;
  const server = createServer((req, res) => {
    // While stopping, new work is refused with a clean 503; the identity provider keeps answering, because the
    // requests still in flight may need it (the broker fetches the provider's keys over HTTP like any client).
    if (draining && !isOidcPath(req.url)) return refuseWhileStopping(res);
    active.add(res);
    res.once('close', () => {
      active.delete(res);
      if (active.size === 0) drained?.();
    });
    void handler(req, res);
  });
  const port = await listen(server, options.port ?? 8787, host);
  const url = `http://${host}:${port}`;
  const config = localConfig(baseConfig, url);

  // DynamoDB Local (seconds of JVM start) and the identity provider come up side by side.
  const dynamoStarting: Promise<RunningDynamoDb> | null = options.dynamodbEndpoint
    ? null
    : (options.dynamodb ??
      startDynamoDbLocal({
        ...(options.inMemory ? {} : { dataDir: dynamoDataDir(dataDir) }),
      }));
  try {
    const tableName = options.tableName ?? 'breakglass';
    const webClientSecret =
      process.env.BREAKGLASS_DEV_WEB_CLIENT_SECRET ?? randomBytes(24).toString('base64url');
    const providerStarting = createDevOidcProvider({
      issuer: config.oidc.issuer,
      audience: config.oidc.audience,
      cliClientId: config.oidc.clientId,
      webClientId: config.oidc.webClientId ?? 'breakglass-web',
      webClientSecret,
      webRedirectUri: `${url}/auth/callback`,
      keyFile: join(dataDir, 'dev-oidc-keys.json'),
      ...(options.demoUsers ? { demoUsers: options.demoUsers } : {}),
    });
    const [started, provider] = await Promise.all([dynamoStarting, providerStarting]);
    const dynamodbEndpoint = options.dynamodbEndpoint ?? started!.endpoint;
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
    // A data directory from an older version: requests written before the role indexes get their keys.
    const backfilled = await broker.store.backfillIndexes();
    if (backfilled > 0) logger.info({ backfilled }, 'request items given the role index keys');

    const oidcCallback = provider.callback();
    const apiListener = getRequestListener(broker.app.fetch);
    // The development provider's token endpoint (logins, device-flow polling, refresh) is limited per address
    // like the broker's own unauthenticated paths; a hosted identity provider applies its own limits.
    const tokenLimiter = new MemoryRateLimiter();
    const window = config.limits.windowSeconds;
    handler = async (req, res) => {
      if (isOidcPath(req.url) && req.method === 'POST' && req.url!.startsWith(`${OIDC_PATH}/token`)) {
        const at = new Date();
        const calls = await tokenLimiter.hit(`ip:${req.socket.remoteAddress ?? 'unknown'}`, window, at);
        if (calls > config.limits.perIp) {
          const retryAfter = Math.ceil((windowStart(window, at) + window * 1000 - at.getTime()) / 1000);
          const body = problemBody(
            'rate_limited',
            'too many token requests; retry after the window',
            `r_${newUlid()}`,
          );
          res.writeHead(429, {
            'content-type': 'application/problem+json',
            'retry-after': String(Math.max(1, retryAfter)),
          });
          res.end(JSON.stringify(body));
          return;
        }
      }
      if (isOidcPath(req.url)) {
        // Mounted like Express would: oidc-provider derives its mount path from originalUrl.
        (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
        req.url = req.url!.slice(OIDC_PATH.length) || '/';
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

    let stopping: Promise<void> | null = null;
    return {
      url,
      issuer: config.oidc.issuer,
      port,
      config,
      broker,
      sweeper,
      sealing,
      dynamodbEndpoint,
      inFlight: () => active.size,
      stop: (stopOptions = {}) => {
        stopping ??= (async () => {
          draining = true;
          // Keep-alive connections would carry more requests: the answers still owed say `Connection: close`.
          for (const res of active) if (!res.headersSent) res.setHeader('connection', 'close');
          if (active.size > 0) {
            const bound = stopOptions.drainMs ?? 10_000;
            await new Promise<void>((done) => {
              drained = done;
              setTimeout(done, bound).unref();
            });
            if (active.size > 0) logger.warn({ inFlight: active.size }, 'stopping with requests unfinished');
          }
          // Only now stop listening: until here a new connection got a clean 503 instead of a refused connect.
          await new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          await sweeper.stop();
          await broker.audit.flushReads();
          // Windows that closed while stopping get their access.throttled now; open ones stay owed in the table.
          await broker.sweepTasks
            .find((task) => task.name === 'throttle-reports')
            ?.run()
            .catch((error: unknown) =>
              logger.warn({ err: (error as Error).message }, 'throttle reports left owed'),
            );
          await sealing.stop();
          broker.close();
          await started?.stop();
        })();
        return stopping;
      },
    };
  } catch (error) {
    server.close();
    // A start of our own still under way is waited for, so that no JVM outlives a failed start.
    if (!options.dynamodb) await (await dynamoStarting?.catch(() => null))?.stop();
    throw error;
  }
}
