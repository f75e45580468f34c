import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isSafeKey } from '../../domain/exports/bunker-layout.js';
import { BunkerConflict, type BunkerSink, type PutOutcome, sha256Hex } from '../../ports/bunker.js';

export interface S3SinkOptions {
  client: S3Client;
  bucket: string;
  /** Prepended to every key, e.g. `breakglass/`. */
  prefix: string;
  /** The security account that must own the bucket; S3 refuses the call otherwise. */
  expectedBucketOwner: string;
}

/** The bunker on S3 (Object Lock bucket in the security account): one PutObject per object, never an overwrite. */
export class S3Sink implements BunkerSink {
  readonly location: string;

  constructor(private readonly options: S3SinkOptions) {
    this.location = `s3://${options.bucket}/${options.prefix}`;
  }

  /** PutObject with `IfNoneMatch: "*"`; a 412 means the key exists, so compare bytes to tell a replay from a conflict. */
  async put(key: string, body: string, contentType = 'application/json'): Promise<PutOutcome> {
    const fullKey = this.fullKey(key);
    try {
      await this.options.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: fullKey,
          Body: body,
          ContentType: contentType,
          IfNoneMatch: '*',
          ExpectedBucketOwner: this.options.expectedBucketOwner,
          ChecksumAlgorithm: 'SHA256',
          // Sent up front so S3 rejects a body damaged in transit instead of storing it for years.
          ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
        }),
      );
      return 'written';
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
    }
    const existing = await this.get(key);
    if (existing === body) return 'identical';
    throw new BunkerConflict(fullKey, sha256Hex(body), existing === null ? null : sha256Hex(existing));
  }

  /** GetObject with the expected owner; null when the key does not exist. */
  async get(key: string): Promise<string | null> {
    try {
      const result = await this.options.client.send(
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: this.fullKey(key),
          ExpectedBucketOwner: this.options.expectedBucketOwner,
        }),
      );
      return (await result.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return null;
      throw error;
    }
  }

  /** ListObjectsV2 under the prefix, page by page; keys come back relative to the bunker root. */
  async *list(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await this.options.client.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: this.fullKey(prefix, true),
          ExpectedBucketOwner: this.options.expectedBucketOwner,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key?.startsWith(this.options.prefix)) yield object.Key.slice(this.options.prefix.length);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private fullKey(key: string, allowEmpty = false): string {
    if (!(allowEmpty && key === '') && !isSafeKey(key.replace(/\/$/, ''))) {
      throw new Error(`unsafe bunker key: ${key}`);
    }
    return `${this.options.prefix}${key}`;
  }
}

function isPreconditionFailed(error: unknown): boolean {
  const failure = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    failure?.$metadata?.httpStatusCode === 412 ||
    failure?.name === 'PreconditionFailed' ||
    failure?.Code === 'PreconditionFailed'
  );
}
