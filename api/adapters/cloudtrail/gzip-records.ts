/** Decompresses a log file as a stream and yields the records that contain a needle, parsed. */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { TrailRecord } from '../../domain/activity/record.js';
import { RecordSplitter } from '../../domain/activity/record-splitter.js';

/** zlib output chunk size: large enough that per-chunk overhead vanishes, small enough to stay flat. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Streams `compressed` through gunzip and the record splitter. Only records whose bytes contain one of
 * `needles` are parsed; an empty needle list parses every record. Memory: one output chunk plus one record.
 */
export async function* gzipRecords(
  compressed: Readable | AsyncIterable<Uint8Array>,
  needles: readonly string[],
): AsyncIterable<TrailRecord> {
  const patterns = needles.map((needle) => Buffer.from(needle, 'utf8'));
  const ready: TrailRecord[] = [];
  const splitter = new RecordSplitter((bytes) => {
    if (patterns.length > 0 && !patterns.some((pattern) => bytes.includes(pattern))) return;
    ready.push(JSON.parse(bytes.toString('utf8')) as TrailRecord);
  });
  const input = compressed instanceof Readable ? compressed : Readable.from(compressed);
  const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
  input.on('error', (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      splitter.push(chunk);
      while (ready.length > 0) yield ready.shift()!;
    }
    splitter.end();
  } finally {
    // Stopping early (or failing) must not leave the download open.
    input.destroy();
    gunzip.destroy();
  }
}
