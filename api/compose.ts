/** The composition root: builds the broker's services and HTTP app from config and adapters. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { WebClient } from '@slack/web-api';
import { awsAdaptersFor } from './adapters/aws/index.js';
import type { AwsAdapters } from './adapters/aws/ports.js';
import { type Bunker, buildBunker } from './adapters/bunker/factory.js';
import { boundedClientOptions, translateStorageFaults } from './adapters/dynamodb/faults.js';
import { DynamoMarkers } from './adapters/dynamodb/markers.js';
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
import { AuditService } from './services/audit-service.js';
import { GrantService } from './services/grant-service.js';
import type { Logger } from './services/logger.js';
import { type Notifications, setupNotifications } from './services/notifications/index.js';
import { type BrokerStore, type Clock, systemClock } from './services/ports.js';
import { MemoryRateLimiter } from './services/rate-limiter.js';
import { RequestService } from './services/request-service.js';
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
  grants: GrantService;
  /** Periodic work the sweeper runs after each sweep. */
  sweepTasks: SweepTask[];
}

/** A DynamoDB client with bounded timeouts and retries whose storage faults surface as storage_unavailable. */
export function dynamoClientFor(region: string, endpoint?: string): DynamoDBClient {
  return translateStorageFaults(
    new DynamoDBClient({
      region,
      ...boundedClientOptions(),
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
  const requests = new RequestService({ config, store, clock, logger });
  const audit = new AuditService({ store, requests });
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
  const sweepTasks: SweepTask[] = [{ name: 'revocation-retry', run: () => grants.retryRevocations() }];
  const app = createApp({
    config,
    requests,
    audit,
    verifier: options.verifier ?? new JoseTokenVerifier(config.oidc, { clock }),
    logger,
    version: VERSION,
    devMode: options.devMode ?? false,
    publicUrl: options.publicUrl.replace(/\/$/, ''),
    readiness: [...(options.readiness ?? []), bunker.shipper.readiness()],
    bunker,
    web: { ...options.web, markers, readEvents: (range) => store.readEvents(range) },
    slack: notifications.interactions,
    grants,
    limiter:
      config.limits.store === 'dynamodb'
        ? new DynamoRateLimiter({ client: dynamodb, tableName: options.tableName })
        : new MemoryRateLimiter(),
  });
  return { app, store, requests, audit, dynamodb, notifications, bunker, grants, sweepTasks };
}
