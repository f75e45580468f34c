/**
 * The organisation trail on S3, loaded on first use: grant activity reviews are a rare, reviewer-driven path,
 * so the API function does not load the S3 client at every cold start for them.
 */
import type { TrailRecord } from '../../domain/activity/record.js';
import type { CloudTrailSource, TrailLogFile } from '../../ports/cloudtrail.js';

export class LazyTrailSource implements CloudTrailSource {
  private loading: Promise<CloudTrailSource> | null = null;

  constructor(
    readonly location: string,
    private readonly load: () => Promise<CloudTrailSource>,
  ) {}

  private source(): Promise<CloudTrailSource> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = null;
      throw error;
    });
    return this.loading;
  }

  async listFolders(prefix: string): Promise<string[]> {
    return (await this.source()).listFolders(prefix);
  }

  async *listFiles(prefix: string): AsyncIterable<TrailLogFile> {
    yield* (await this.source()).listFiles(prefix);
  }

  async *readRecords(key: string, needles: readonly string[]): AsyncIterable<TrailRecord> {
    yield* (await this.source()).readRecords(key, needles);
  }
}
