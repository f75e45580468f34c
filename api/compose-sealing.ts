/**
 * The composition root's first layer: options, the DynamoDB client and store, and a sealer that only seals
 * (`buildSealer`, what the transition and sweeper functions run). compose-shipping.ts adds the bunker the sealer
 * ships to (`buildSealing`, the shipper function); compose.ts builds the core on top of either, and
 * compose-http.ts the API. Each Lambda entry imports the smallest builder, so its bundle carries nothing else: in
 * particular this file imports no bunker adapter, since esbuild makes a chunk of every `import()` in a bundled
 * file, used or not, and deploys it with the function.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { boundedClientOptions, translateStorageFaults } from './adapters/dynamodb/faults.js';
import { DynamoStore } from './adapters/dynamodb/store.js';
import type { BreakglassConfig } from './config/schema.js';
import type { WebOptions } from './http/web/options.js';
import type { AwsAdapters } from './ports/aws.js';
import { type Clock, systemClock } from './ports/clock.js';
import type { CloudTrailSource } from './ports/cloudtrail.js';
import type { Logger } from './ports/logger.js';
import type { ReadinessCheck } from './ports/readiness.js';
import type { SlackApi } from './ports/slack.js';
import type { TokenVerifier } from './ports/token-verifier.js';
import { Sealer } from './services/sealer.js';

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
  /** A Slack client, or a factory given the bot token; Slack's Web API over fetch (`slackWebApi`) when omitted. */
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

/** Storage and the sealer: what chaining committed events needs (the sweeper's fallback sealing). */
export interface SealerParts {
  store: DynamoStore;
  dynamodb: DynamoDBClient;
  /** Chains committed events (`sealer.sealPending()`); with a bunker it also ships and signs them (`run()`). */
  sealer: Sealer;
  /** Closes the DynamoDB clients these parts made. */
  close(): void;
}

/** How a core broker gets its sealer: `buildSealer` (seal only) or `buildSealing` (compose-shipping.ts, with the bunker). */
export type SealingBuilder<S extends SealerParts> = (options: BrokerOptions, commitStore?: DynamoStore) => S;

export function storeFor(options: BrokerOptions, client: DynamoDBClient, clock: Clock): DynamoStore {
  const secret = cookieSecretOf(options);
  return new DynamoStore({
    client,
    tableName: options.tableName,
    clock,
    simulated: options.config.aws.mode === 'simulated',
    logger: options.logger,
    // List cursors are HMAC'd; every instance shares the cookie secret, so a cursor works on any of them.
    ...(secret ? { cursorSecret: secret } : {}),
  });
}

/**
 * The sealer's store and client. `commitStore` is the store API calls commit through; the sealer gets its own
 * client unless one was injected, so its transactions never queue behind (or are mistaken for) commits.
 */
export function sealerStorage(options: BrokerOptions, commitStore: DynamoStore | undefined, clock: Clock) {
  const dynamodb =
    options.dynamodb ??
    dynamoClientFor(options.config.aws.region, options.dynamodbEndpoint, { requestTimeoutMs: 15_000 });
  const store = options.dynamodb && commitStore ? commitStore : storeFor(options, dynamodb, clock);
  return { dynamodb, store, close: () => (options.dynamodb ? undefined : dynamodb.destroy()) };
}

/**
 * A sealer that chains committed events and ships nothing: the transition and sweeper functions, whose sweep
 * only seals (shipping stays with the one sealer function, which the next commit wakes).
 */
export function buildSealer(options: BrokerOptions, commitStore?: DynamoStore): SealerParts {
  const clock = options.clock ?? systemClock;
  const { dynamodb, store, close } = sealerStorage(options, commitStore, clock);
  const sealer = new Sealer({
    journal: store,
    clock,
    logger: options.logger.child({ component: 'sealer' }),
    maxLagSeconds: options.config.audit.maxSealLagSeconds,
  });
  return { store, dynamodb, sealer, close };
}
