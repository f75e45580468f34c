/** The composition root: builds the broker's services and HTTP app from config and adapters. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { WebClient } from '@slack/web-api';
import { awsAdaptersFor } from './adapters/aws/index.js';
import type { AwsAdapters } from './adapters/aws/ports.js';
import { type Bunker, buildBunker } from './adapters/bunker/factory.js';
import { trailSourceFor } from './adapters/cloudtrail/factory.js';
import { boundedClientOptions, translateStorageFaults } from './adapters/dynamodb/faults.js';
import { DynamoMarkers } from './adapters/dynamodb/markers.js';
import { DynamoOutbox } from './adapters/dynamodb/outbox.js';
import { DynamoRateLimiter } from './adapters/dynamodb/rate-limiter.js';
import { DynamoRevocationLedger } from './adapters/dynamodb/revocation-ledger.js';
import { DynamoStore } from './adapters/dynamodb/store.js';
import { JoseTokenVerifier, type TokenVerifier } from './adapters/oidc/token-verifier.js';
import { type SlackApi, WebApiSlack } from './adapters/slack/client.js';
import type { BreakglassConfig } from './config/schema.js';
import { createApp } from './http/app.js';
import type { App, ReadinessCheck } from './http/env.js';
import type { WebOptions } from './http/web/options.js';
import { VERSION } from './package-root.js';
import type { CloudTrailSource } from './ports/cloudtrail.js';
import { ActivityService, layoutOf } from './services/activity.js';
import { AuditReads } from './services/audit-reads.js';
import { AuditService } from './services/audit-service.js';
import { GrantService } from './services/grant-service.js';
import type { Logger } from './services/logger.js';
import { type Notifications, setupNotifications } from './services/notifications/index.js';
import { OutboxRelay } from './services/outbox-relay.js';
import { type BrokerStore, type Clock, systemClock } from './services/ports.js';
import { MemoryRateLimiter } from './services/rate-limiter.js';
import { RequestService } from './services/request-service.js';
import { Sealer } from './services/sealer.js';
import type { SweepTask } from './services/sweeper.js';

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

export interface Broker {
  app: App;
  store: BrokerStore;
  requests: RequestService;
  audit: AuditService;
  dynamodb: DynamoDBClient;
  notifications: Notifications;
  /** The data-bunker sink, audit signer and shipper (`broker.bunker.shipper.shipPending()`). */
  bunker: Bunker;
  /** Chains committed events, then ships and signs them (`broker.sealer.run()`). */
  sealer: Sealer;
  /** Runs post-commit effects a crash or a failure left owed (`broker.outbox.drain()`). */
  outbox: OutboxRelay;
  grants: GrantService;
  activity: ActivityService;
  /** Periodic work the sweeper runs after each sweep. */
  sweepTasks: SweepTask[];
  /** Closes the DynamoDB clients the broker made. */
  close(): void;
}

/** A DynamoDB client with bounded timeouts and retries whose storage faults surface as storage_unavailable. */
/**
 * A DynamoDB client with bounded connection and request timeouts. Background writers nobody waits on (the
 * sealer's 100-item transactions) may allow a request longer than the API's default.
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

export function buildBroker(options: BrokerOptions): Broker {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const dynamodb = options.dynamodb ?? dynamoClientFor(config.aws.region, options.dynamodbEndpoint);
  const store = new DynamoStore({
    client: dynamodb,
    tableName: options.tableName,
    clock,
    simulated: config.aws.mode === 'simulated',
    // List cursors are HMAC'd; every instance shares the cookie secret, so a cursor works on any of them.
    ...(cookieSecretOf(options) ? { cursorSecret: cookieSecretOf(options) } : {}),
  });
  const outboxStore = new DynamoOutbox({ client: dynamodb, tableName: options.tableName });
  const requests = new RequestService({ config, store, clock, logger, outbox: outboxStore });
  const markers = new DynamoMarkers({ client: dynamodb, tableName: options.tableName, clock });
  const limiter =
    config.limits.store === 'dynamodb'
      ? new DynamoRateLimiter({ client: dynamodb, tableName: options.tableName })
      : new MemoryRateLimiter();
  const audit = new AuditService({
    store,
    requests,
    reads: new AuditReads({ limiter, markers, requests, clock, logger }),
    clock,
  });
  const bunker = buildBunker({
    config,
    store,
    dynamodb,
    tableName: options.tableName,
    clock,
    logger,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.s3 ? { s3: options.s3 } : {}),
    ...(options.kms ? { kms: options.kms } : {}),
  });
  // The sealer (and the shipper behind it) is its own writer: in AWS a separate Lambda, here a separate client,
  // so its transactions never queue behind, or are mistaken for, the commits of API calls.
  const sealerClient =
    options.dynamodb ??
    dynamoClientFor(config.aws.region, options.dynamodbEndpoint, { requestTimeoutMs: 15_000 });
  const sealerStore = options.dynamodb
    ? store
    : new DynamoStore({
        client: sealerClient,
        tableName: options.tableName,
        clock,
        simulated: config.aws.mode === 'simulated',
      });
  const sealer = new Sealer({
    journal: sealerStore,
    shipper: bunker.shipper,
    clock,
    logger: logger.child({ component: 'sealer' }),
    maxLagSeconds: config.audit.maxSealLagSeconds,
  });
  const notifications = setupNotifications({
    config,
    requests,
    markers,
    logger,
    clock,
    publicUrl: (config.web.publicUrl ?? options.publicUrl).replace(/\/$/, ''),
    getRequest: (id) => store.getRequest(id),
    appendEvents: (events) => store.appendEvents(events),
    slackApi:
      options.slackApi ??
      // Few, quick retries: a Slack outage must not pile up work behind it (failures are audited instead).
      ((token) => new WebApiSlack(new WebClient(token, { retryConfig: { retries: 2 }, timeout: 5000 }))),
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
  const sweepTasks: SweepTask[] = [
    { name: 'revocation-retry', run: () => grants.retryRevocations() },
    { name: 'outbox-relay', run: () => outbox.drain() },
    // Fallback for a lost stream trigger: nothing committed waits for the sealer longer than one sweep. It only
    // seals; shipping stays with the one sealer function (or the local loop), which the next commit wakes.
    { name: 'sealer', run: () => sealer.sealPending() },
  ];
  const activity = new ActivityService({
    requests,
    store,
    source:
      options.cloudtrail ?? (config.cloudtrail ? trailSourceFor(config.cloudtrail, config.aws.region) : null),
    layout: config.cloudtrail ? layoutOf(config.cloudtrail) : null,
    clock,
    logger,
  });
  const app = createApp({
    config,
    requests,
    audit,
    verifier: options.verifier ?? new JoseTokenVerifier(config.oidc, { clock }),
    logger,
    version: VERSION,
    devMode: options.devMode ?? false,
    publicUrl: options.publicUrl.replace(/\/$/, ''),
    readiness: [...(options.readiness ?? []), sealer.readiness(), bunker.shipper.readiness()],
    bunker,
    sealing: sealer,
    web: { ...options.web, markers, requestEvents: (id, limit) => store.requestEvents(id, limit) },
    slack: notifications.interactions,
    grants,
    activity,
    limiter,
  });
  return {
    app,
    store,
    requests,
    audit,
    dynamodb,
    notifications,
    bunker,
    sealer,
    outbox,
    grants,
    activity,
    sweepTasks,
    close: () => {
      dynamodb.destroy();
      if (sealerClient !== dynamodb) sealerClient.destroy();
    },
  };
}
