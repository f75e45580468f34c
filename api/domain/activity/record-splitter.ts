/**
 * Splits a CloudTrail log file (`{"Records":[{…},{…}]}`), fed as decompressed chunks, into the raw bytes of
 * each record, without parsing them: it tracks only string state and nesting depth, jumping from quote to
 * quote with `indexOf`. Memory is one record at most, whatever the file size. The caller decides which
 * records are worth `JSON.parse` (most are not: they belong to other people).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Depth of a record object: inside the top-level object and its `Records` array. */
const RECORD_DEPTH = 3;

export class RecordSplitter {
  private depth = 0;
  private inString = false;
  /** Backslashes at the very end of the previous chunk, inside a string (their parity decides an escape). */
  private trailingBackslashes = 0;
  /** Pieces of a record that started in an earlier chunk. */
  private carried: Buffer[] = [];
  private inRecord = false;

  constructor(private readonly onRecord: (record: Buffer) => void) {}

  /** Feeds the next decompressed chunk; calls `onRecord` for every record it completes. */
  push(chunk: Buffer): void {
    const length = chunk.length;
    let recordStart = this.inRecord ? 0 : -1;
    let i = 0;
    while (i < length) {
      if (this.inString) {
        const quote = chunk.indexOf(QUOTE, i);
        if (quote < 0) {
          this.trailingBackslashes = countBackslashes(chunk, length, i, this.trailingBackslashes);
          i = length;
          break;
        }
        const escapes = countBackslashes(chunk, quote, i, this.trailingBackslashes);
        this.trailingBackslashes = 0;
        i = quote + 1;
        if ((escapes & 1) === 0) this.inString = false;
        continue;
      }
      const byte = chunk[i]!;
      if (byte === QUOTE) {
        this.inString = true;
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        this.depth += 1;
        if (this.depth === RECORD_DEPTH && byte === OPEN_OBJECT) {
          recordStart = i;
          this.inRecord = true;
        }
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        if (this.depth === RECORD_DEPTH && this.inRecord && byte === CLOSE_OBJECT) {
          this.emit(chunk, recordStart, i + 1);
          recordStart = -1;
          this.inRecord = false;
        }
        this.depth -= 1;
        if (this.depth < 0) throw new SyntaxError('unbalanced JSON in CloudTrail log file');
      }
      i += 1;
    }
    if (this.inRecord) this.carried.push(chunk.subarray(recordStart < 0 ? 0 : recordStart));
  }

  /** Ends the file; throws when it stopped inside a record (a truncated download). */
  end(): void {
    if (this.inRecord || this.inString || this.depth !== 0) {
      throw new SyntaxError('CloudTrail log file ends in the middle of a record');
    }
  }

  private emit(chunk: Buffer, start: number, end: number): void {
    if (this.carried.length === 0) {
      this.onRecord(chunk.subarray(start, end));
      return;
    }
    this.carried.push(chunk.subarray(0, end));
    const whole = Buffer.concat(this.carried);
    this.carried = [];
    this.onRecord(whole);
  }
}

/** Backslashes immediately before `end` (not before `floor`), plus those carried over when all are. */
function countBackslashes(chunk: Buffer, end: number, floor: number, carried: number): number {
  let count = 0;
  let j = end - 1;
  while (j >= floor && chunk[j] === BACKSLASH) {
    count += 1;
    j -= 1;
  }
  return j < floor ? count + carried : count;
}
