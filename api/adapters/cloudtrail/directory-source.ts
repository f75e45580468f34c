/** A local copy of the trail bucket's layout (e.g. `aws s3 sync s3://org-trail/prefix ./trail`). */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TrailRecord } from '../../domain/activity/record.js';
import { CloudTrailReadError, type CloudTrailSource, type TrailLogFile } from '../../ports/cloudtrail.js';
import { gzipRecords } from './gzip-records.js';

export class DirectoryTrailSource implements CloudTrailSource {
  readonly location: string;
  private readonly root: string;

  /** `directory` plays the bucket + prefix: it holds `AWSLogs/`. */
  constructor(directory: string) {
    this.root = resolve(directory);
    this.location = this.root;
  }

  /** Sub-directories of a prefix; none when it does not exist. */
  async listFolders(prefix: string): Promise<string[]> {
    const entries = await this.entries(prefix);
    return entries.filter((entry) => entry.isDirectory()).map((entry) => `${prefix}${entry.name}/`);
  }

  /** Regular files directly under a prefix, in name order. */
  async *listFiles(prefix: string): AsyncIterable<TrailLogFile> {
    const entries = await this.entries(prefix);
    for (const entry of entries.filter((e) => e.isFile()).sort((a, b) => a.name.localeCompare(b.name))) {
      const key = `${prefix}${entry.name}`;
      yield { key, size: (await stat(this.path(key))).size };
    }
  }

  /** Streams one file through gunzip and the record splitter. */
  async *readRecords(key: string, needles: readonly string[]): AsyncIterable<TrailRecord> {
    try {
      yield* gzipRecords(createReadStream(this.path(key), { highWaterMark: 256 * 1024 }), needles);
    } catch (error) {
      throw new CloudTrailReadError(`cannot read ${key}: ${(error as Error).message}`, this.location, {
        cause: error,
      });
    }
  }

  private path(key: string): string {
    const path = resolve(join(this.root, key));
    if (path !== this.root && !path.startsWith(`${this.root}/`)) {
      throw new CloudTrailReadError(`key ${key} leaves the trail directory`, this.location);
    }
    return path;
  }

  private async entries(prefix: string) {
    try {
      return await readdir(this.path(prefix), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new CloudTrailReadError(`cannot list ${prefix}: ${(error as Error).message}`, this.location, {
        cause: error,
      });
    }
  }
}
