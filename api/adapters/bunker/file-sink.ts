import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { isSafeKey } from '../../domain/exports/bunker-layout.js';
import { BunkerConflict, type BunkerSink, type PutOutcome, sha256Hex } from '../../ports/bunker.js';

/** The bunker as a local directory (the local stack's default): same layout as S3, every file written once. */
export class FileSink implements BunkerSink {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = `file://${root}`;
  }

  /**
   * Writes a temporary file opened with `wx`, fsyncs it, then hard-links it into place. link() fails with EEXIST
   * when the key exists, so publishing is atomic and never overwrites, and a crash mid-write leaves no
   * half-written object under the real name.
   */
  async put(key: string, body: string, _contentType?: string): Promise<PutOutcome> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temporary, 'wx', 0o444);
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
