/**
 * The composition root: the only place that chooses concrete adapters and wires them to the services. Three
 * builders, so each Lambda function bundles only what it runs: `buildSealing` (the shipper function),
 * `buildCore` (transition and sweeper functions) and, in compose-http.ts, `buildBroker` (the API and the local
 * stack).
 */
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { awsAdaptersFor } from './adapters/aws/index.js';
import { DynamoCursorStore } from './adapters/bunker/dynamo-cursor.js';
import { FileSink } from './adapters/bunker/file-sink.js';
import { LazySigner, LazySink } from './adapters/bunker/lazy.js';
import { LocalKeySigner } from './adapters/bunker/local-signer.js';
import { boundedClientOptions, translateStorageFaults } from './adapters/dynamodb/faults.js';
import { DynamoMarkers } from './adapters/dynamodb/markers.js';
import { DynamoOutbox } from './adapters/dynamodb/outbox.js';
import { DynamoRateLimiter } from './adapters/dynamodb/rate-limiter.js';
import { DynamoRevocationLedger } from './adapters/dynamodb/revocation-ledger.js';
import { DynamoStore } from './adapters/dynamodb/store.js';
import { DynamoThrottleReports } from './adapters/dynamodb/throttle-reports.js';
import { MemoryRateLimiter } from './adapters/memory/rate-limiter.js';
import { LogOnlySlack, WebApiSlack } from './adapters/slack/client.js';
import type { RemoteBunker } from './compose-bunker.js';
import type { BreakglassConfig } from './config/schema.js';
import type { WebOptions } from './http/web/options.js';
import type { AwsAdapters } from './ports/aws.js';
import type { AuditSigner, BunkerSink } from './ports/bunker.js';
import { type Clock, systemClock } from './ports/clock.js';
import type { CloudTrailSource } from './ports/cloudtrail.js';
import type { Logger } from './ports/logger.js';
import type { RateLimiter } from './ports/rate-limiter.js';
import type { ReadinessCheck } from './ports/readiness.js';
import type { SlackApi } from './ports/slack.js';
import type { BrokerStore } from './ports/store.js';
import type { TokenVerifier } from './ports/token-verifier.js';
import { GrantService } from './services/grant-service.js';
import { type Notifications, setupNotifications } from './services/notifications/index.js';
import { OutboxRelay } from './services/outbox-relay.js';
import { RequestService } from './services/request-service.js';
import { Sealer } from './services/sealer.js';
import { AuditShipper, type Bunker } from './services/shipper.js';
import type { SweepTask } from './services/sweeper.js';
import { reportClosedWindows } from './services/throttle-reporting.js';

export interface BrokerOptions {
  config: BreakglassConfig;
  logger: Logger;
  tableName: string;
  dynamodb?: DynamoDBClient;
  /** For DynamoDB Local: its endpoint; credentials are then dummies. */
  dynamodbEndpoint?: string;
  clock?: Clock;
  verifier?: TokenVerifier;
  devMode?: boolean;
  publicUrl: string;
  readiness?: ReadinessCheck[];
  /** Base directory for the file bunker and the local audit key (the local stack's data dir). */
  dataDir?: string;
  /** Injected clients for the bunker (tests); built from config when omitted. */
  s3?: S3Client;
  kms?: KMSClient;
  /** Web sign-in secrets (the local stack passes its generated ones); otherwise read from the environment. */
  web?: Pick<WebOptions, 'clientSecret' | 'cookieSecret'>;
  /** A Slack client, or a factory given the bot token; @slack/web-api's WebClient when omitted. */
  slackApi?: SlackApi | ((token: string) => SlackApi);
  /** fetch for webhooks and Slack response_url posts (tests). */
  fetch?: typeof fetch;
  /** AWS adapters (tests pass live ones on mocked clients); built from aws.mode when omitted. */
  aws?: AwsAdapters;
  /** The organisation trail for activity reviews (tests); built from `cloudtrail` in config when omitted. */
  cloudtrail?: CloudTrailSource;
}

/**
 * A DynamoDB client with bounded connection and request timeouts and bounded retries, whose storage faults surface
 * as storage_unavailable. Background writers nobody waits on (the sealer's 100-item transactions) may allow a
 * request longer than the API's default.
 */
export function dynamoClientFor(
  region: string,
  endpoint?: string,
  options: { requestTimeoutMs?: number } = {},
): DynamoDBClient {
  const bounded = boundedClientOptions();
  return translateStorageFaults(
    new DynamoDBClient({
      region,
      ...bounded,
      ...(options.requestTimeoutMs
        ? { requestHandler: { ...bounded.requestHandler, requestTimeout: options.requestTimeoutMs } }
        : {}),
      ...(endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    }),
  );
}

function cookieSecretOf(options: BrokerOptions): string | undefined {
  const env = options.config.web.cookieSecretEnv;
  return options.web?.cookieSecret ?? (env ? process.env[env] : undefined);
}

/** Storage, the sealer and the bunker: all the shipper function needs (it seals, ships and signs, nothing else). */
export interface SealingParts {
  store: DynamoStore;
  dynamodb: DynamoDBClient;
  /** The data-bunker sink, audit signer and shipper (`bunker.shipper.shipPending()`). */
  bunker: Bunker;
  /** Chains committed events, then ships and signs them (`sealer.run()`). */
  sealer: Sealer;
  /** Closes the DynamoDB clients these parts made. */
  close(): void;
}

/** Everything but the HTTP layer: what the transition and sweeper functions run. */
export interface CoreBroker extends SealingParts {
  requests: RequestService;
  notifications: Notifications;
  /** Runs post-commit effects a crash or a failure left owed (`outbox.drain()`). */
  outbox: OutboxRelay;
  grants: GrantService;
  markers: DynamoMarkers;
  /** Counts calls for the rate limits; DynamoDB across instances or in memory (config `limits.store`). */
  limiter: RateLimiter;
  /** Owed `access.throttled` reports, committed by the sweep once their window closes. */
  throttleReports: DynamoThrottleReports;
  /** Periodic work the sweeper runs after each sweep. */
  sweepTasks: SweepTask[];
}

function storeFor(options: BrokerOptions, client: DynamoDBClient, clock: Clock): DynamoStore {
  const secret = cookieSecretOf(options);
  return new DynamoStore({
    client,
    tableName: options.tableName,
    clock,
    simulated: options.config.aws.mode === 'simulated',
    // List cursors are HMAC'd; every instance shares the cookie secret, so a cursor works on any of them.
    ...(secret ? { cursorSecret: secret } : {}),
  });
}

/**
 * The sealer and what it writes to. `commitStore` is the store API calls commit through; the sealer gets its
 * own client unless one was injected, so its transactions never queue behind (or are mistaken for) commits.
 */
export function buildSealing(
  options: BrokerOptions,
  commitStore?: DynamoStore,
  remote: RemoteBunker = lazyRemoteBunker,
): SealingParts {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const dynamodb =
    options.dynamodb ??
    dynamoClientFor(config.aws.region, options.dynamodbEndpoint, { requestTimeoutMs: 15_000 });
  const store = options.dynamodb && commitStore ? commitStore : storeFor(options, dynamodb, clock);
  const bunker = buildBunker({
    config,
    remote,
    store: commitStore ?? store,
    dynamodb,
    tableName: options.tableName,
    clock,
    logger,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.s3 ? { s3: options.s3 } : {}),
    ...(options.kms ? { kms: options.kms } : {}),
  });
  const sealer = new Sealer({
    journal: store,
    shipper: bunker.shipper,
    clock,
    logger: logger.child({ component: 'sealer' }),
    maxLagSeconds: config.audit.maxSealLagSeconds,
  });
  return {
    store,
    dynamodb,
    bunker,
    sealer,
    close: () => (options.dynamodb ? undefined : dynamodb.destroy()),
  };
}

/** Requests, grants, notifications, the outbox and the sealer, wired together; no HTTP layer. */
export function buildCore(options: BrokerOptions): CoreBroker {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const dynamodb = options.dynamodb ?? dynamoClientFor(config.aws.region, options.dynamodbEndpoint);
  const store = storeFor(options, dynamodb, clock);
  const outboxStore = new DynamoOutbox({ client: dynamodb, tableName: options.tableName });
  const requests = new RequestService({ config, store, clock, logger, outbox: outboxStore });
  const sealing = buildSealing(options, store);
  const markers = new DynamoMarkers({ client: dynamodb, tableName: options.tableName, clock });
  const notifications = setupNotifications({
    config,
    requests,
    markers,
    logger,
    clock,
    publicUrl: (config.web.publicUrl ?? options.publicUrl).replace(/\/$/, ''),
    getRequest: (id) => store.getRequest(id),
    appendEvents: (events) => store.appendEvents(events),
    slackApi: slackApiFor(options),
    ...(options.fetch ? { fetchImpl: options.fetch } : {}),
  });
  const aws = options.aws ?? awsAdaptersFor(config, clock);
  const ledger = new DynamoRevocationLedger({ client: dynamodb, tableName: options.tableName });
  const grants = new GrantService({
    config,
    requests,
    store,
    aws,
    ledger,
    clock,
    logger,
    publicUrl: (config.web.publicUrl ?? options.publicUrl).replace(/\/$/, ''),
  });
  // The revocation ledger commits with `grant.revoked` and settles with `revocation.applied`.
  store.addContributor(grants.revocationContributor(ledger));
  requests.addListener(grants.revocationListener);
  requests.addListener(grants.schedulingListener);
  if (!grants.schedulingEnabled) {
    logger.info(
      { awsMode: aws.mode },
      'EventBridge Scheduler not used (simulated mode or aws.scheduler.targetArn/roleArn unset): the sweeper drives every transition',
    );
  }
  const outbox = new OutboxRelay({ outbox: outboxStore, store, requests, clock, logger });
  const sealer = sealing.sealer;
  const limiter =
    config.limits.store === 'dynamodb'
      ? new DynamoRateLimiter({ client: dynamodb, tableName: options.tableName })
      : new MemoryRateLimiter();
  // Owed access.throttled reports are table items the report's own commit consumes (exactly once, crash-proof).
  const throttleReports = new DynamoThrottleReports({ client: dynamodb, tableName: options.tableName });
  store.addContributor(throttleReports.contributor());
  const sweepTasks: SweepTask[] = [
    {
      name: 'throttle-reports',
      run: async () => {
        await reportClosedWindows({
          reports: throttleReports,
          limiter,
          requests,
          logger,
          now: () => clock.now(),
        });
      },
    },
    { name: 'revocation-retry', run: () => grants.retryRevocations() },
    { name: 'outbox-relay', run: () => outbox.drain() },
    // Fallback for a lost stream trigger: nothing committed waits for the sealer longer than one sweep. It only
    // seals; shipping stays with the one sealer function (or the local loop), which the next commit wakes.
    { name: 'sealer', run: () => sealer.sealPending() },
  ];
  return {
    store,
    dynamodb,
    bunker: sealing.bunker,
    sealer: sealing.sealer,
    requests,
    notifications,
    outbox,
    grants,
    markers,
    limiter,
    throttleReports,
    sweepTasks,
    close: () => {
      dynamodb.destroy();
      sealing.close();
    },
  };
}

/**
 * The Slack client for the `notifications.slack` section: an injected one (tests), the Web API with the bot
 * token from the environment (loaded on first use; few, quick retries, so a Slack outage does not pile up work —
 * failures are audited instead), or without a token the log-only twin, so the blocks can still be checked.
 */
function slackApiFor(options: BrokerOptions): SlackApi | null {
  const slack = options.config.notifications.slack;
  if (!slack) return null;
  if (typeof options.slackApi === 'object') return options.slackApi;
  const token = process.env[slack.tokenEnv];
  if (!token) {
    options.logger.info({ tokenEnv: slack.tokenEnv }, 'no Slack token: Slack messages go to the log only');
    return new LogOnlySlack(options.logger.child({ component: 'slack' }));
  }
  if (typeof options.slackApi === 'function') return options.slackApi(token);
  return new WebApiSlack(async () => {
    const { WebClient } = await import('@slack/web-api');
    return new WebClient(token, { retryConfig: { retries: 2 }, timeout: 5000 });
  });
}

const loadRemoteBunker = () => import('./compose-bunker.js').then((module) => module.remoteBunker);

/** The S3 sink and KMS signer, loaded (SDK clients and all) the first time they are used. */
export const lazyRemoteBunker: RemoteBunker = {
  s3Sink: (config, client) =>
    new LazySink(
      // S3Sink's own location, known before it is loaded (readiness reports it).
      config.bunker.kind === 's3' ? `s3://${config.bunker.bucket}/${config.bunker.prefix}` : '',
      async () => (await loadRemoteBunker()).s3Sink(config, client),
    ),
  kmsSigner: (config, keyId, client) =>
    new LazySigner(async () => (await loadRemoteBunker()).kmsSigner(config, keyId, client)),
};

interface BunkerOptions {
  config: BreakglassConfig;
  remote: RemoteBunker;
  store: BrokerStore;
  dynamodb: DynamoDBClient;
  tableName: string;
  clock: Clock;
  logger: Logger;
  /** Base for relative paths of the file sink and the local key file (the local stack's `.breakglass/`). */
  dataDir?: string;
  s3?: S3Client;
  kms?: KMSClient;
}

/** The sink, signer and shipper described by the `bunker` config section; nothing touches the network until first use. */
function buildBunker(options: BunkerOptions): Bunker {
  const { config } = options;
  const bunker = config.bunker;
  const dataDir = resolve(options.dataDir ?? process.env.BREAKGLASS_DATA_DIR ?? '.breakglass');
  const sink: BunkerSink =
    bunker.kind === 's3'
      ? options.remote.s3Sink(config, options.s3)
      : new FileSink(resolve(dataDir, bunker.directory ?? 'bunker'));
  const signer: AuditSigner = bunker.digest.kmsKeyId
    ? options.remote.kmsSigner(config, bunker.digest.kmsKeyId, options.kms)
    : new LocalKeySigner(resolve(dataDir, bunker.digest.keyFile ?? join('keys', 'audit-signing-key.json')));
  const shipper = new AuditShipper({
    store: options.store,
    sink,
    cursor: new DynamoCursorStore({ client: options.dynamodb, tableName: options.tableName }),
    signer,
    policy: { everyEvents: bunker.digest.everyEvents, everyMinutes: bunker.digest.everyMinutes },
    clock: options.clock,
    logger: options.logger.child({ component: 'bunker' }),
  });
  return { sink, signer, shipper, store: options.store };
}
