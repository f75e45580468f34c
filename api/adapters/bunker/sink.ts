/** The data bunker seen from the broker: write-once objects under relative keys, and a way to read them back. */
import { createHash } from 'node:crypto';

/** `written`: the object is new. `identical`: it already existed with exactly these bytes (a replay). */
export type PutOutcome = 'written' | 'identical';

/** Reading the bunker back, for verification. Keys are relative to the bunker root. */
export interface BunkerReader {
  /** Every key under `prefix`, in lexical order. */
  list(prefix: string): AsyncIterable<string>;
  /** The object's text, or null when it does not exist. */
  get(key: string): Promise<string | null>;
}

export interface BunkerSink extends BunkerReader {
  /** Where the objects go, for logs and readiness (never a secret). */
  readonly location: string;
  /**
   * Writes `body` at `key` unless the key exists. An existing identical object counts as written; an existing
   * different one throws BunkerConflict and leaves the stored object untouched.
   */
  put(key: string, body: string, contentType?: string): Promise<PutOutcome>;
}

/** Another object already sits at a key we own, with different bytes: someone or something rewrote history. */
export class BunkerConflict extends Error {
  constructor(
    readonly key: string,
    readonly expectedSha256: string,
    readonly foundSha256: string | null,
  ) {
    super(`bunker object ${key} exists with different content`);
    this.name = 'BunkerConflict';
  }
}

export const sha256Hex = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');
