/** Offline verification of what a reviewer holds: a JSONL export (with `FILE.sig` when present) or a bunker copy. */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { FileSink } from '../api/adapters/bunker/file-sink.js';
import {
  type AuditVerifyReport,
  type BunkerVerifyOptions,
  verifyBunker,
  verifyJsonlText,
} from '../api/services/audit-verify.js';

/** Verifies a file (JSONL export, with `FILE.sig` when present) or a directory laid out like the bunker. */
export async function verifyPath(path: string, options: BunkerVerifyOptions): Promise<AuditVerifyReport> {
  const info = await stat(path);
  if (info.isDirectory()) return verifyBunker(new FileSink(path), options);
  const detached = await readFile(`${path}.sig`, 'utf8').catch(() => null);
  const chunks = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  return verifyJsonlText(chunks, { ...options, detachedSignature: detached?.trim() ?? null });
}
