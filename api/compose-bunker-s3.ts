/**
 * The data bunker's S3 sink with its SDK client. The shipper function imports this file (it ships on every
 * invocation); everything else reaches it through `lazyRemoteBunker` (compose-shipping.ts) on first use.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { S3Sink } from './adapters/bunker/s3-sink.js';
import type { BreakglassConfig } from './config/schema.js';
import type { BunkerSink } from './ports/bunker.js';

/** Builds the S3 sink for an `s3` bunker. */
export function s3Sink(config: BreakglassConfig, client?: S3Client): BunkerSink {
  const bunker = config.bunker;
  if (bunker.kind !== 's3') throw new Error('remoteBunker.s3Sink: bunker.kind is not s3');
  return new S3Sink({
    client: client ?? new S3Client({ region: bunker.region ?? config.aws.region }),
    bucket: bunker.bucket,
    prefix: bunker.prefix,
    expectedBucketOwner: bunker.expectedBucketOwner,
  });
}
