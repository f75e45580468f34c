/**
 * SHA-256 over text fed in order: an export's end line carries the hash of every byte before it, which a
 * verifier computes beside the per-event chain check. Fed as UTF-8, like the bytes of the file.
 */
export interface TextHasher {
  update(text: string): void;
  /** Hex digest of everything fed. Call once; the hasher is finished after it. */
  digest(): Promise<string>;
  /** Releases the hasher when verification stops early (no digest will be asked for). */
  close(): void;
}
