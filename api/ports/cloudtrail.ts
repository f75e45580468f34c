/** Where the organisation trail's log files are read from: its S3 bucket, or a local copy of its layout. */
import type { TrailRecord } from '../domain/activity/record.js';

export interface TrailLogFile {
  key: string;
  /** Compressed size in bytes. */
  size: number;
}

export interface CloudTrailSource {
  /** `s3://bucket/prefix` or a directory path, for messages and the summary's `source`. */
  readonly location: string;
  /** Immediate sub-folders of a key prefix ending in `/`, each returned as a full prefix ending in `/`. */
  listFolders(prefix: string): Promise<string[]>;
  /** Objects directly under a key prefix ending in `/`. */
  listFiles(prefix: string): AsyncIterable<TrailLogFile>;
  /**
   * The records of one gzip'd log file that contain at least one of `needles` (a byte pre-filter; the caller
   * still decides which are its own), decompressed and split as a stream.
   */
  readRecords(key: string, needles: readonly string[]): AsyncIterable<TrailRecord>;
}

/** The trail could not be read (missing bucket, access denied, corrupt file); the cause is kept for the log. */
export class CloudTrailReadError extends Error {
  constructor(
    message: string,
    readonly location: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CloudTrailReadError';
  }
}
