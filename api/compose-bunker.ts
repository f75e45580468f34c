/**
 * The data bunker's AWS adapters: the S3 sink and the KMS signer with their SDK clients. The shipper function
 * imports this file (it ships and signs on every invocation); everything else reaches it through a dynamic
 * import on first use (`lazyRemoteBunker` in compose.ts), so S3 and KMS stay out of their cold starts.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { KmsSigner } from './adapters/bunker/kms-signer.js';
import { S3Sink } from './adapters/bunker/s3-sink.js';
import type { BreakglassConfig } from './config/schema.js';
import type { AuditSigner, BunkerSink } from './ports/bunker.js';

/**
 * Makes the bunker's AWS adapters: `remoteBunker` (compose-bunker.ts) at once, for the shipper function, or
 * `lazyRemoteBunker` on first use, for the functions that ship or sign only on rare paths.
 */
export interface RemoteBunker {
  s3Sink(config: BreakglassConfig, client?: S3Client): BunkerSink;
  kmsSigner(config: BreakglassConfig, keyId: string, client?: KMSClient): AuditSigner;
}

/** Builds the S3 sink and KMS signer at once. */
export const remoteBunker: RemoteBunker = {
  s3Sink: (config, client) => {
    const bunker = config.bunker;
    if (bunker.kind !== 's3') throw new Error('remoteBunker.s3Sink: bunker.kind is not s3');
    return new S3Sink({
      client: client ?? new S3Client({ region: bunker.region ?? config.aws.region }),
      bucket: bunker.bucket,
      prefix: bunker.prefix,
      expectedBucketOwner: bunker.expectedBucketOwner,
    });
  },
  kmsSigner: (config, keyId, client) =>
    new KmsSigner({
      client: client ?? new KMSClient({ region: config.aws.region }),
      keyId,
      retiredKeyIds: config.bunker.digest.retiredKmsKeyIds ?? [],
    }),
};
