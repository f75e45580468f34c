/**
 * The sealer with the bunker it ships to: the S3 or file sink, the KMS or local-key signer and the shipper
 * (`buildSealing`). The shipper function runs it alone; the API builds its core with it (compose-http.ts), since
 * the audit routes read the bunker. The transition and sweeper functions never import this file, so the bunker's
 * adapters (S3, KMS, jose), even the lazily loaded ones, are not deployed with them.
 */
import { join, resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { DynamoCursorStore } from './adapters/bunker/dynamo-cursor.js';
import { FileSink } from './adapters/bunker/file-sink.js';
import { LazySigner, LazySink } from './adapters/bunker/lazy.js';
import type { DynamoStore } from './adapters/dynamodb/store.js';
import type { RemoteBunker } from './compose-bunker.js';
import { type BrokerOptions, type SealerParts, sealerStorage } from './compose-sealing.js';
import type { BreakglassConfig } from './config/schema.js';
import type { AuditSigner, BunkerSink } from './ports/bunker.js';
import { type Clock, systemClock } from './ports/clock.js';
import type { Logger } from './ports/logger.js';
import type { BrokerStore } from './ports/store.js';
import { Sealer } from './services/sealer.js';
import { AuditShipper, type Bunker } from './services/shipper.js';

/** Storage, the sealer and the bunker: all the shipper function needs (it seals, ships and signs, nothing else). */
export interface SealingParts extends SealerParts {
  /** The data-bunker sink, audit signer and shipper (`bunker.shipper.shipPending()`). */
  bunker: Bunker;
}

/** The sealer and what it ships to: the bunker's sink, signer and shipper (the shipper and API functions). */
export function buildSealing(
  options: BrokerOptions,
  commitStore?: DynamoStore,
  remote: RemoteBunker = lazyRemoteBunker,
): SealingParts {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const { dynamodb, store, close } = sealerStorage(options, commitStore, clock);
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
  return { store, dynamodb, bunker, sealer, close };
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
