/** Builds the configured trail source: the trail bucket (live) or a local directory. */
import { S3Client } from '@aws-sdk/client-s3';
import type { CloudTrailConfig } from '../../config/schema.js';
import type { CloudTrailSource } from '../../ports/cloudtrail.js';
import { DirectoryTrailSource } from './directory-source.js';
import { S3TrailSource } from './s3-source.js';

/** `s3` is an injected client (tests, LocalStack); otherwise one for the bucket's region. */
export function trailSourceFor(
  config: CloudTrailConfig,
  defaultRegion: string,
  s3?: S3Client,
): CloudTrailSource {
  if (config.kind === 'directory') return new DirectoryTrailSource(config.directory);
  return new S3TrailSource({
    client: s3 ?? new S3Client({ region: config.region ?? defaultRegion, maxAttempts: 5 }),
    bucket: config.bucket,
    ...(config.expectedBucketOwner ? { expectedBucketOwner: config.expectedBucketOwner } : {}),
  });
}

export { DirectoryTrailSource } from './directory-source.js';
export { S3TrailSource } from './s3-source.js';
