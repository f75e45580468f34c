/** Builds the bunker pieces (sink, signer, shipper) from the `bunker` config section. */

import { join, resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import type { BreakglassConfig } from '../../config/schema.js';
import type { AuditSigner } from '../../services/digests.js';
import type { Logger } from '../../services/logger.js';
import type { BrokerStore, Clock } from '../../services/ports.js';
import { AuditShipper } from '../../services/shipper.js';
import { DynamoCursorStore } from './dynamo-cursor.js';
import { FileSink } from './file-sink.js';
import { KmsSigner } from './kms-signer.js';
import { LocalKeySigner } from './local-signer.js';
import { S3Sink } from './s3-sink.js';
import type { BunkerSink } from './sink.js';

export interface Bunker {
  sink: BunkerSink;
  signer: AuditSigner;
  shipper: AuditShipper;
  /** The chain the bunker is fed from, for exports and verification. */
  store: BrokerStore;
}

export interface BunkerOptions {
  config: BreakglassConfig;
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

/** The sink, signer and shipper described by config; nothing touches the network until first use. */
export function buildBunker(options: BunkerOptions): Bunker {
  const { config } = options;
  const bunker = config.bunker;
  const dataDir = resolve(options.dataDir ?? process.env.BREAKGLASS_DATA_DIR ?? '.breakglass');
  const sink: BunkerSink =
    bunker.kind === 's3'
      ? new S3Sink({
          client: options.s3 ?? new S3Client({ region: bunker.region ?? config.aws.region }),
          bucket: bunker.bucket,
          prefix: bunker.prefix,
          expectedBucketOwner: bunker.expectedBucketOwner,
        })
      : new FileSink(resolve(dataDir, bunker.directory ?? 'bunker'));
  const signer: AuditSigner = bunker.digest.kmsKeyId
    ? new KmsSigner({
        client: options.kms ?? new KMSClient({ region: config.aws.region }),
        keyId: bunker.digest.kmsKeyId,
      })
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
