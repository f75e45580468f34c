/** Offline verification of what a reviewer holds: a JSONL export (with `FILE.sig` when present) or a bunker copy. */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { JSONWebKeySet } from 'jose';
import { FileSink } from '../api/adapters/bunker/file-sink.js';
import { type AuditVerifyReport, verifyBunker, verifyJsonl } from '../api/services/audit-verify.js';

/** Verifies a file (JSONL export, with `FILE.sig` when present) or a directory laid out like the bunker. */
export async function verifyPath(
  path: string,
  options: { keys?: JSONWebKeySet | null; requireSignature?: boolean } = {},
): Promise<AuditVerifyReport> {
  const info = await stat(path);
  if (info.isDirectory()) return verifyBunker(new FileSink(path), { keys: options.keys ?? null });
  const detached = await readFile(`${path}.sig`, 'utf8').catch(() => null);
  const lines = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  return verifyJsonl(lines, {
    keys: options.keys ?? null,
    detachedSignature: detached?.trim() ?? null,
    requireSignature: options.requireSignature ?? false,
  });
}
