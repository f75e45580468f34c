/** The organisation trail's bucket, read-only (ListObjectsV2 and GetObject), on an injected S3 client. */

import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { TrailRecord } from '../../domain/activity/record.js';
import { CloudTrailReadError, type CloudTrailSource, type TrailLogFile } from '../../ports/cloudtrail.js';
import { gzipRecords } from './gzip-records.js';

export interface S3TrailSourceOptions {
  client: S3Client;
  bucket: string;
  /** Sent with every call, so a bucket that changed hands is refused rather than read. */
  expectedBucketOwner?: string;
}

export class S3TrailSource implements CloudTrailSource {
  readonly location: string;

  constructor(private readonly options: S3TrailSourceOptions) {
    this.location = `s3://${options.bucket}`;
  }

  private get owner() {
    return this.options.expectedBucketOwner ? { ExpectedBucketOwner: this.options.expectedBucketOwner } : {};
  }

  /** Common prefixes one level below `prefix` (delimiter `/`), all pages. */
  async listFolders(prefix: string): Promise<string[]> {
    const folders: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.send(
        () =>
          this.options.client.send(
            new ListObjectsV2Command({
              Bucket: this.options.bucket,
              Prefix: prefix,
              Delimiter: '/',
              ...(token ? { ContinuationToken: token } : {}),
              ...this.owner,
            }),
          ),
        prefix,
      );
      for (const common of page.CommonPrefixes ?? []) if (common.Prefix) folders.push(common.Prefix);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return folders;
  }

  /** Objects directly under `prefix`, page by page (a busy day folder holds thousands). */
  async *listFiles(prefix: string): AsyncIterable<TrailLogFile> {
    let token: string | undefined;
    do {
      const page = await this.send(
        () =>
          this.options.client.send(
            new ListObjectsV2Command({
              Bucket: this.options.bucket,
              Prefix: prefix,
              Delimiter: '/',
              ...(token ? { ContinuationToken: token } : {}),
              ...this.owner,
            }),
          ),
        prefix,
      );
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key, size: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** GetObject, streamed through gunzip (SSE-KMS objects are decrypted by S3 given kms:Decrypt). */
  async *readRecords(key: string, needles: readonly string[]): AsyncIterable<TrailRecord> {
    const object = await this.send(
      () =>
        this.options.client.send(
          new GetObjectCommand({ Bucket: this.options.bucket, Key: key, ...this.owner }),
        ),
      key,
    );
    if (!object.Body)
      throw new CloudTrailReadError(`s3://${this.options.bucket}/${key} has no body`, this.location);
    try {
      yield* gzipRecords(object.Body as Readable, needles);
    } catch (error) {
      throw new CloudTrailReadError(
        `cannot read s3://${this.options.bucket}/${key}: ${(error as Error).message}`,
        this.location,
        { cause: error },
      );
    }
  }

  private async send<T>(call: () => Promise<T>, what: string): Promise<T> {
    try {
      return await call();
    } catch (error) {
      const name = (error as { name?: string }).name ?? 'Error';
      throw new CloudTrailReadError(`S3 refused ${what} in ${this.location} (${name})`, this.location, {
        cause: error,
      });
    }
  }
}
