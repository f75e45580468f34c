/** Decompresses a log file as a stream and yields the records that contain a needle, parsed. */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { TrailRecord } from '../../domain/activity/record.js';
import { RecordSplitter } from '../../domain/activity/record-splitter.js';

/** zlib output chunk size: large enough that per-chunk overhead vanishes, small enough to stay flat. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Every record CloudTrail writes starts with its `eventVersion` field. Inside a JSON string a quote is always
 * escaped, so these bytes can only be the start of an object whose first key is `eventVersion`: a record.
 */
const ANCHOR = Buffer.from('{"eventVersion"');
const HEADER = /^\s*\{\s*"Records"\s*:\s*\[\s*(\{"eventVersion"|\])/;

/**
 * Finds the records that contain a needle without walking every byte: `indexOf` for the needles (rare: one
 * record in hundreds is the grant's), then the anchors around each hit. Files that do not start the way
 * CloudTrail writes them go through the exact `RecordSplitter` instead, and so does any slice between two
 * anchors that does not parse as one record.
 */
class NeedleScanner {
  private tail: Buffer | null = null;
  private exact: RecordSplitter | null = null;
  private started = false;

  constructor(
    private readonly patterns: Buffer[],
    private readonly emit: (record: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    if (!this.started) {
      this.started = true;
      if (!HEADER.test(chunk.subarray(0, 256).toString('latin1'))) this.exact = this.exactSplitter();
    }
    if (this.exact) {
      this.exact.push(chunk);
      return;
    }
    const buf = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    const last = previousAnchor(buf, buf.length - 1);
    if (last < 0) {
      this.tail = buf;
      return;
    }
    this.scan(buf, last);
    this.tail = buf.subarray(last);
  }

  end(): void {
    if (this.exact) {
      this.exact.end();
      return;
    }
    const buf = this.tail;
    if (!buf) return;
    // The last record ends before the file's closing `]}`.
    let end = buf.length;
    while (end > 0 && isSpace(buf[end - 1]!)) end -= 1;
    if (buf[end - 1] !== 0x7d) throw new SyntaxError('CloudTrail log file ends in the middle of a record');
    end -= 1;
    while (end > 0 && isSpace(buf[end - 1]!)) end -= 1;
    if (buf[end - 1] !== 0x5d) throw new SyntaxError('CloudTrail log file ends in the middle of a record');
    this.scan(buf.subarray(0, end - 1), end - 1);
  }

  /** Emits the records in `buf[0, limit)` (complete ones) that contain a needle, in file order. */
  private scan(buf: Buffer, limit: number): void {
    const starts = new Set<number>();
    for (const pattern of this.patterns) {
      let at = buf.indexOf(pattern);
      while (at >= 0 && at < limit) {
        const start = previousAnchor(buf, at);
        const next = nextAnchor(buf, at + 1, limit);
        if (start >= 0) starts.add(start);
        if (next >= limit) break;
        at = buf.indexOf(pattern, next);
      }
    }
    let emittedUntil = -1;
    for (const first of [...starts].sort((x, y) => x - y)) {
      if (first < emittedUntil) continue;
      let start = first;
      let end = nextAnchor(buf, start + 1, limit);
      // A slice that does not split into whole records started or ended at a nested object: widen it.
      for (let attempt = 0; ; attempt++) {
        const records: Buffer[] = [];
        try {
          splitExactly(buf.subarray(start, trimEnd(buf, start, end)), records);
        } catch (error) {
          if (attempt >= 8) throw error;
          const wider = previousAnchor(buf, start - 1);
          if (wider >= 0 && attempt % 2 === 0) start = wider;
          else end = nextAnchor(buf, end + 1, limit);
          continue;
        }
        for (const record of records) if (this.patterns.some((p) => record.includes(p))) this.emit(record);
        emittedUntil = end;
        break;
      }
    }
  }

  private exactSplitter(): RecordSplitter {
    return new RecordSplitter((record) => {
      if (this.patterns.some((pattern) => record.includes(pattern))) this.emit(record);
    });
  }
}

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

const RECORDS_KEY = Buffer.from('"Records":');

/** True when the anchor at `at` follows `},` (a previous record) or `"Records":[` (the first one). */
function isRecordStart(buf: Buffer, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && isSpace(buf[i]!)) i -= 1;
  if (i < 0) return true; // the carried tail starts at an anchor already checked
  if (buf[i] === 0x2c) {
    i -= 1;
    while (i >= 0 && isSpace(buf[i]!)) i -= 1;
    return i < 0 || buf[i] === 0x7d;
  }
  if (buf[i] !== 0x5b) return false;
  i -= 1;
  while (i >= 0 && isSpace(buf[i]!)) i -= 1;
  return i + 1 >= RECORDS_KEY.length && buf.subarray(i + 1 - RECORDS_KEY.length, i + 1).equals(RECORDS_KEY);
}

/** The last record start at or before `from`, or -1. */
function previousAnchor(buf: Buffer, from: number): number {
  let at = from < 0 ? -1 : buf.lastIndexOf(ANCHOR, from);
  while (at >= 0 && !isRecordStart(buf, at)) at = at === 0 ? -1 : buf.lastIndexOf(ANCHOR, at - 1);
  return at;
}

/** The next record start at or after `from`, or `limit` when there is none before it. */
function nextAnchor(buf: Buffer, from: number, limit: number): number {
  let at = buf.indexOf(ANCHOR, from);
  while (at >= 0 && at < limit && !isRecordStart(buf, at)) at = buf.indexOf(ANCHOR, at + 1);
  return at < 0 || at > limit ? limit : at;
}

/** `end` with trailing whitespace and the separating comma removed. */
function trimEnd(buf: Buffer, start: number, end: number): number {
  let e = end;
  while (e > start && (isSpace(buf[e - 1]!) || buf[e - 1] === 0x2c)) e -= 1;
  return e;
}

const OPEN = Buffer.from('{"Records":[');
const CLOSE = Buffer.from(']}');

/** Splits a slice of whole records with the exact splitter; throws when it is not whole records. */
function splitExactly(slice: Buffer, into: Buffer[]): void {
  const splitter = new RecordSplitter((record) => into.push(record));
  splitter.push(OPEN);
  splitter.push(slice);
  splitter.push(CLOSE);
  splitter.end();
}

/**
 * Streams `compressed` through gunzip and a record scanner. Only records whose bytes contain one of `needles`
 * are parsed; an empty needle list parses every record (exact splitting). Memory: one output chunk plus one
 * record.
 */
export async function* gzipRecords(
  compressed: Readable | AsyncIterable<Uint8Array>,
  needles: readonly string[],
): AsyncIterable<TrailRecord> {
  const patterns = needles.map((needle) => Buffer.from(needle, 'utf8'));
  const ready: TrailRecord[] = [];
  const parse = (bytes: Buffer) => {
    ready.push(JSON.parse(bytes.toString('utf8')) as TrailRecord);
  };
  const scanner: { push(chunk: Buffer): void; end(): void } =
    patterns.length > 0 ? new NeedleScanner(patterns, parse) : new RecordSplitter(parse);
  const input = compressed instanceof Readable ? compressed : Readable.from(compressed);
  const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
  input.on('error', (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      scanner.push(chunk);
      while (ready.length > 0) yield ready.shift()!;
    }
    scanner.end();
    while (ready.length > 0) yield ready.shift()!;
  } finally {
    // Stopping early (or failing) must not leave the download open.
    input.destroy();
    gunzip.destroy();
  }
}
