/**
 * The composition root's first layer: options, the DynamoDB client and store, the bunker and the sealer —
 * everything the shipper function runs (`buildSealing`). compose.ts builds the core on top of it, and
 * compose-http.ts the API; each Lambda entry imports the smallest of the three, so its bundle carries nothing else.
 */
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { DynamoCursorStore } from './adapters/bunker/dynamo-cursor.js';
import { FileSink } from './adapters/bunker/file-sink.js';
import { LazySigner, LazySink } from './adapters/bunker/lazy.js';
import { boundedClientOptions, translateStorageFaults } from './adapters/dynamodb/faults.js';
import { DynamoStore } from './adapters/dynamodb/store.js';
import type { RemoteBunker } from './compose-bunker.js';
import type { BreakglassConfig } from './config/schema.js';
import type { WebOptions } from './http/web/options.js';
import type { AwsAdapters } from './ports/aws.js';
import type { AuditSigner, BunkerSink } from './ports/bunker.js';
import { type Clock, systemClock } from './ports/clock.js';
import type { CloudTrailSource } from './ports/cloudtrail.js';
import type { Logger } from './ports/logger.js';
import type { ReadinessCheck } from './ports/readiness.js';
import type { SlackApi } from './ports/slack.js';
import type { BrokerStore } from './ports/store.js';
import type { TokenVerifier } from './ports/token-verifier.js';
import { Sealer } from './services/sealer.js';
import { AuditShipper, type Bunker } from './services/shipper.js';

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

export function storeFor(options: BrokerOptions, client: DynamoDBClient, clock: Clock): DynamoStore {
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

/** The S3 sink and KMS signer, each loaded (SDK client and all) the first time it is used. */
export const lazyRemoteBunker: RemoteBunker = {
  s3Sink: (config, client) =>
    new LazySink(
      // S3Sink's own location, known before it is loaded (readiness reports it).
      config.bunker.kind === 's3' ? `s3://${config.bunker.bucket}/${config.bunker.prefix}` : '',
      async () => (await import('./compose-bunker-s3.js')).s3Sink(config, client),
    ),
  kmsSigner: (config, keyId, client) =>
    new LazySigner(async () => (await import('./compose-bunker-kms.js')).kmsSigner(config, keyId, client)),
};

/**
 * The local-key signer (no KMS key configured: the local stack, simulated deployments), loaded on first use like
 * the KMS signer: it brings jose, which a live function otherwise loads only to verify on rare paths.
 */
function localSigner(keyFile: string): AuditSigner {
  return new LazySigner(
    async () => new (await import('./adapters/bunker/local-signer.js')).LocalKeySigner(keyFile),
  );
}

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
    : localSigner(resolve(dataDir, bunker.digest.keyFile ?? join('keys', 'audit-signing-key.json')));
  const shipper = new AuditShipper({
    store: options.store,
    sink,
    cursor: new DynamoCursorStore({ client: options.dynamodb, tableName: options.tableName }),
    signer,
    policy: { everyEvents: bunker.digest.everyEvents, everyMinutes: bunker.digest.everyMinutes },
    // A local directory takes a wide window (one directory fsync per window); S3 keeps 16 puts at once.
    ...(bunker.kind === 's3' ? {} : { parallelPuts: 64, checkpointEvery: 64 }),
    clock: options.clock,
    logger: options.logger.child({ component: 'bunker' }),
  });
  return { sink, signer, shipper, store: options.store };
}
