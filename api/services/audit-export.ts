/** Streaming exports of the audit chain: JSONL (verifiable), CSV (one row per request) and OCSF. */
import { createHash } from 'node:crypto';
import { GENESIS_HASH, serializeEvent } from '../domain/audit-chain.js';
import { csvHeader, csvRowLine, RequestRows } from '../domain/exports/csv.js';
import {
  EXPORT_FORMAT,
  type ExportBoundary,
  type ExportEnd,
  type ExportManifest,
} from '../domain/exports/jsonl.js';
import { RequesterDirectory, toOcsf } from '../domain/exports/ocsf.js';
import type { AuditEvent } from '../domain/types.js';
import type { AuditSigner } from '../ports/bunker.js';
import type { BrokerStore } from '../ports/store.js';
import { isContext, type RangeItem } from './audit-history.js';
import { MANIFEST_JWS_TYP, signCompact } from './digests.js';
import type { ExportProof, Refusal } from './export-proof.js';

export interface TimeRange {
  since?: string;
  until?: string;
}

/**
 * The events of a time range as one contiguous run of seq numbers: from the first event at or after `since`,
 * up to (not including) the first event at or after `until`. Filtering by time alone could leave holes when
 * two writers' clocks disagree; a contiguous run always verifies against its boundary.
 */
export async function* eventsInRange(store: BrokerStore, range: TimeRange): AsyncIterable<AuditEvent> {
  let fromSeq = 1;
  if (range.since) {
    let found: number | null = null;
    for await (const event of store.readEvents({ since: range.since })) {
      found = event.seq;
      break;
    }
    if (found === null) return;
    fromSeq = found;
  }
  const until = range.until ? Date.parse(range.until) : null;
  for await (const event of store.readEvents({ fromSeq })) {
    if (until !== null && Date.parse(event.time) >= until) return;
    yield event;
  }
}

/**
 * Groups small writes into ~64 KiB chunks so a stream of 100k lines is not 100k socket writes. Each chunk is
 * joined once into a flat string: `+=` would hand on a rope of a hundred pieces, which every reader of the
 * chunk (the response encoder, a verifier in the same process) walks more slowly than flat text.
 */
async function* chunked(lines: AsyncIterable<string>, size = 64 * 1024): AsyncIterable<string> {
  let parts: string[] = [];
  let length = 0;
  for await (const line of lines) {
    parts.push(line);
    length += line.length;
    if (length >= size) {
      yield parts.join('');
      parts = [];
      length = 0;
    }
  }
  if (length > 0) yield parts.join('');
}

export interface JsonlOptions extends TimeRange {
  /** Signs the manifest after the proof check passed; null leaves the export unsigned. */
  signer?: AuditSigner | null;
  /** Checks the events against the bunker's digests and supplies the digest lines (required to sign). */
  proof?: ExportProof | null;
  /** Told when the proof check refused to sign, to audit the refusal. */
  onRefused?: (refusal: Refusal) => Promise<void>;
  now: () => Date;
}

async function* jsonlLines(events: AsyncIterable<AuditEvent>, options: JsonlOptions): AsyncIterable<string> {
  // Format /2: the end line hashes the lines that are not events; the chain pins the event lines.
  const hash = createHash('sha256');
  const emit = (line: string) => {
    hash.update(line);
    return line;
  };
  const range = { since: options.since ?? null, until: options.until ?? null };
  let boundary: ExportBoundary | null = null;
  let count = 0;
  let firstSeq: number | null = null;
  let last = { seq: 0, hash: GENESIS_HASH };
  const proof = options.signer ? (options.proof ?? null) : null;
  for await (const event of events) {
    if (!boundary) {
      boundary = {
        type: 'export.boundary',
        format: EXPORT_FORMAT,
        prevSeq: event.seq - 1,
        prevHash: event.prevHash,
        ...range,
      };
      yield emit(`${JSON.stringify(boundary)}\n`);
      firstSeq = event.seq;
      for (const line of (await proof?.start({ seq: boundary.prevSeq, hash: boundary.prevHash })) ?? []) {
        yield emit(line);
      }
    }
    yield `${serializeEvent(event)}\n`;
    for (const line of (await proof?.after(event)) ?? []) yield emit(line);
    count += 1;
    last = { seq: event.seq, hash: event.hash };
  }
  if (count > 0) await proof?.finish(last);
  if (!boundary) {
    // An empty range: nothing to chain onto, so it starts and ends at the same (unknown) point.
    boundary = {
      type: 'export.boundary',
      format: EXPORT_FORMAT,
      prevSeq: 0,
      prevHash: GENESIS_HASH,
      ...range,
    };
    yield emit(`${JSON.stringify(boundary)}\n`);
  }
  const manifest: ExportManifest = {
    type: 'breakglass.export-manifest',
    format: EXPORT_FORMAT,
    sha256: hash.digest('hex'),
    count,
    prevSeq: boundary.prevSeq,
    prevHash: boundary.prevHash,
    firstSeq,
    lastSeq: count ? last.seq : boundary.prevSeq,
    lastHash: count ? last.hash : boundary.prevHash,
    ...range,
    exportedAt: options.now().toISOString(),
    digests: proof?.lines ?? 0,
  };
  const refusal = proof?.refusal ?? (options.signer && !proof ? { seq: 0, reason: 'no digest check' } : null);
  if (refusal) await options.onRefused?.(refusal);
  const end: ExportEnd = {
    ...manifest,
    type: 'export.end',
    ...(refusal
      ? { refused: `seq ${refusal.seq}: ${refusal.reason}` }
      : options.signer
        ? { signature: await signCompact(options.signer, manifest, MANIFEST_JWS_TYP) }
        : {}),
  };
  yield `${JSON.stringify(end)}\n`;
}

/** JSONL: boundary line, the events as stored, end line with the SHA-256 of the other lines (and signature). */
export function exportJsonl(events: AsyncIterable<AuditEvent>, options: JsonlOptions): AsyncIterable<string> {
  return chunked(jsonlLines(events, options));
}

async function* csvLines(items: AsyncIterable<RangeItem>): AsyncIterable<string> {
  yield csvHeader();
  const rows = new RequestRows();
  for await (const item of items) {
    for (const row of rows.push(isContext(item) ? item.context : item)) yield csvRowLine(row);
  }
  for (const row of rows.flush()) yield csvRowLine(row);
}

/**
 * CSV for reviewers: one complete row per request, in the order requests finished. For a date range, pass the
 * events through `withHistory` so requests that began before it are complete too.
 */
export function exportCsv(items: AsyncIterable<RangeItem>): AsyncIterable<string> {
  return chunked(csvLines(items));
}

async function* ocsfLines(items: AsyncIterable<RangeItem>, version: string): AsyncIterable<string> {
  const requesters = new RequesterDirectory();
  for await (const item of items) {
    // Earlier history only teaches the directory who requested what; it is not part of the export.
    if (isContext(item)) requesters.learn(item.context);
    else yield `${JSON.stringify(toOcsf(item, requesters, version))}\n`;
  }
}

/** OCSF 1.3.0 records, one JSON object per line (ranged: through `withHistory`, for the requester). */
export function exportOcsf(items: AsyncIterable<RangeItem>, productVersion: string): AsyncIterable<string> {
  return chunked(ocsfLines(items, productVersion));
}
