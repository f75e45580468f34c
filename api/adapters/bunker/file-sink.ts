import { randomBytes } from 'node:crypto';
import { type FileHandle, link, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { isSafeKey } from '../../domain/exports/bunker-layout.js';
import {
  BunkerConflict,
  type BunkerObject,
  type BunkerSink,
  type PutOutcome,
  sha256Hex,
} from '../../ports/bunker.js';

/** The bunker as a local directory (the local stack's default): same layout as S3, every file written once. */
export class FileSink implements BunkerSink {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = `file://${root}`;
  }

  /** Directories known to exist, so a put costs no `mkdir` after the first object of a day. */
  private readonly directories = new Set<string>();

  /**
   * Writes a temporary file opened with `wx`, fsyncs it, then hard-links it into place. link() fails with EEXIST
   * when the key exists, so publishing is atomic and never overwrites, and a crash mid-write leaves no
   * half-written object under the real name. The directory is fsynced after the link, so the new name is on
   * disk before the caller counts the object as shipped.
   */
  async put(key: string, body: string, _contentType?: string): Promise<PutOutcome> {
    const [outcome] = await this.putMany([{ key, body }]);
    if (outcome!.status === 'rejected') throw outcome!.reason;
    return outcome!.value;
  }

  /**
   * `put` for many objects with one directory fsync per directory instead of one per object: every object is
   * written and linked (each file fsynced, as in `put`), then each directory touched is fsynced once. An object
   * counts as written (or identical) only after its directory's fsync; if that fails, every object in that
   * directory is rejected, and a later put of the same bytes answers `identical`.
   */
  async putMany(objects: BunkerObject[]): Promise<PromiseSettledResult<PutOutcome>[]> {
    const results = await Promise.allSettled(objects.map((object) => this.publish(object.key, object.body)));
    const directories = new Map<string, Promise<void>>();
    for (const [index, result] of results.entries()) {
      // An identical object may have been linked by a run that crashed before its directory fsync: sync it too.
      if (result.status === 'fulfilled') {
        const directory = dirname(this.pathOf(objects[index]!.key));
        if (!directories.has(directory)) directories.set(directory, syncDirectory(directory));
      }
    }
    const synced = new Map<string, PromiseSettledResult<void>>();
    for (const [directory, sync] of directories) {
      synced.set(directory, (await Promise.allSettled([sync]))[0]!);
    }
    return results.map((result, index) => {
      if (result.status === 'rejected') return result;
      const sync = synced.get(dirname(this.pathOf(objects[index]!.key)));
      return sync?.status === 'rejected' ? { status: 'rejected', reason: sync.reason } : result;
    });
  }

  private async publish(key: string, body: string): Promise<PutOutcome> {
    const path = this.pathOf(key);
    const directory = dirname(path);
    if (!this.directories.has(directory)) {
      await mkdir(directory, { recursive: true });
      this.directories.add(directory);
    }
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temporary, 'wx', 0o444).catch(async (error: NodeJS.ErrnoException) => {
      // The directory was removed since it was cached (an operator's cleanup, a test): make it again.
      if (error.code !== 'ENOENT') throw error;
      this.directories.delete(directory);
      await mkdir(directory, { recursive: true });
      this.directories.add(directory);
      return open(temporary, 'wx', 0o444);
    });
    try {
      await handle.writeFile(body, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temporary, path);
      return 'written';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
    const existing = await this.get(key);
    if (existing === body) return 'identical';
    throw new BunkerConflict(key, sha256Hex(body), existing === null ? null : sha256Hex(existing));
  }

  /** The file's text, or null when it does not exist. */
  async get(key: string): Promise<string | null> {
    try {
      return await readFile(this.pathOf(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Every finished object under `prefix` (temporary files are skipped), in lexical order. */
  async *list(prefix: string): AsyncIterable<string> {
    const base = prefix === '' ? this.root : this.pathOf(prefix.replace(/\/$/, ''));
    let entries: string[];
    try {
      entries = await readdir(base, { recursive: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const keys = entries
      .filter((entry) => !entry.endsWith('.tmp') && /\.(json|jws)$/.test(entry))
      .map((entry) => relative(this.root, join(base, entry)).split(sep).join('/'))
      .sort();
    yield* keys;
  }

  private pathOf(key: string): string {
    if (!isSafeKey(key)) throw new Error(`unsafe bunker key: ${key}`);
    return join(this.root, ...key.split('/'));
  }
}

/** fsync on a directory makes the names linked into it durable (opened read-only: Linux and macOS allow it). */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } finally {
    await handle?.close();
  }
}
