/**
 * Verifies audit evidence and names the first bad seq: a JSONL export (chain from its boundary, digest lines,
 * end line, manifest signature), a bunker (its events and its chained, signed digests) or the live store against
 * the bunker's objects and digests. Signatures count only against keys trusted independently of the material
 * (`TrustedKeys`); keys inside an export or a bunker are never used. No trusted signature over every verified
 * event is a failure unless the caller allows an unsigned result, which then says so.
 */

import { createHash } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import {
  BLANK_LINE_DETAIL,
  type ChainHead,
  ChainVerifier,
  EMPTY_HEAD,
  isBlankLine,
  isChainHead,
  type SegmentResult,
  textAt,
} from '../domain/audit-chain.js';
import {
  DIGESTS_DIR,
  EVENTS_DIR,
  eventBody,
  eventKey,
  parseEventKey,
} from '../domain/exports/bunker-layout.js';
import {
  EXPORT_FORMAT,
  EXPORT_FORMAT_V1,
  EXPORT_LINE_PREFIX,
  type ExportEnd,
  type ExportFormat,
  type ExportManifest,
  type ExportPart,
} from '../domain/exports/jsonl.js';
import type { AuditEvent } from '../domain/types.js';
import type { BunkerReader } from '../ports/bunker.js';
import type { BrokerStore } from '../ports/store.js';
import { DigestChain, DigestChecker, readDigest, verifyCompact } from './digest-checks.js';
import { type DigestPayload, type DigestPolicy, MANIFEST_JWS_TYP, type TrustedKeys } from './digests.js';

type Kind = 'jsonl' | 'bunker' | 'store';

export type AuditVerifyReport =
  | {
      ok: true;
      kind: Kind;
      events: number;
      firstSeq: number | null;
      lastSeq: number;
      lastHash: string;
      /** Digests checked, or null when there were none to check (an export without digest lines). */
      digests: number | null;
      /** Events after the newest digest: chain-checked, not yet covered by a digest. */
      unsealed: number | null;
      /** `valid`: a trusted signature covers `signedRange`; `unsigned`: allowed by the caller, see `unsigned`. */
      signature: 'valid' | 'unsigned';
      /** Where the trusted keys came from; null when none were given. */
      keySource: TrustedKeys['source'] | null;
      keyOrigin: string | null;
      /** The key ids whose signatures were checked. */
      kids: string[];
      signedRange: { fromSeq: number; toSeq: number } | null;
      newestDigest: { n: number; toSeq: number; time: string; ageSeconds: number } | null;
      /** Set when the caller allowed an unsigned result: why there was no trusted signature. */
      unsigned?: string;
      /** Set when the caller allowed a stale bunker: the heartbeat problem. */
      stale?: string;
    }
  | {
      ok: false;
      kind: Kind;
      events: number;
      firstBadSeq: number;
      reason: string;
      detail: string;
    };

type Failure = Extract<AuditVerifyReport, { ok: false }>;
type Success = Extract<AuditVerifyReport, { ok: true }>;

const fail = (kind: Kind, events: number, firstBadSeq: number, reason: string, detail: string): Failure => ({
  ok: false,
  kind,
  events,
  firstBadSeq,
  reason,
  detail,
});

/** How a verification treats trust: which keys, and whether an unsigned or stale result may pass (loudly). */
export interface TrustOptions {
  trusted: TrustedKeys | null;
  /** Turns "no trusted signature covers the events" into an ok result marked `unsigned`. */
  allowUnsigned?: boolean;
  /** Why no keys are trusted (e.g. the server could not be reached), for the failure line. */
  untrustedBecause?: string;
}

const noKeysDetail = (options: TrustOptions) =>
  `no trusted key to check signatures with${options.untrustedBecause ? ` (${options.untrustedBecause})` : ''}; pin the server's key by logging in, or pass --keys`;

/** The report's common tail: trust fields, and the unsigned rule applied. */
function conclude(
  base: Omit<Success, 'signature' | 'keySource' | 'keyOrigin' | 'kids' | 'signedRange' | 'newestDigest'>,
  options: TrustOptions,
  signed: {
    kids: string[];
    signedRange: Success['signedRange'];
    newest: DigestPayload | null;
    at: Date;
    unsignedBecause: string | null;
  },
): AuditVerifyReport {
  const report: Success = {
    ...base,
    signature: signed.unsignedBecause ? 'unsigned' : 'valid',
    keySource: options.trusted?.source ?? null,
    keyOrigin: options.trusted?.origin ?? null,
    kids: signed.kids,
    signedRange: signed.signedRange,
    newestDigest: signed.newest
      ? {
          n: signed.newest.n,
          toSeq: signed.newest.toSeq,
          time: signed.newest.time,
          ageSeconds: Math.max(0, Math.round((signed.at.getTime() - Date.parse(signed.newest.time)) / 1000)),
        }
      : null,
  };
  if (!signed.unsignedBecause) return report;
  if (!options.allowUnsigned) {
    return fail(
      base.kind,
      base.events,
      base.firstSeq ?? base.lastSeq + 1,
      'unsigned',
      signed.unsignedBecause,
    );
  }
  return { ...report, unsigned: signed.unsignedBecause };
}

export interface JsonlVerifyOptions extends TrustOptions {
  /** A detached `.sig` (compact JWS of the manifest), when the export's end line carries none. */
  detachedSignature?: string | null;
  at?: Date;
}

/** Verifies JSONL lines (without their newlines) in constant memory; see `verifyJsonlText`. */
export async function verifyJsonl(
  lines: AsyncIterable<string>,
  options: JsonlVerifyOptions,
): Promise<AuditVerifyReport> {
  const check = new JsonlCheck(options);
  for await (const raw of lines) {
    const failure = isBlankLine(raw) ? check.blank() : await check.line(raw, true);
    if (failure) return failure;
  }
  return check.finish();
}

/**
 * Verifies a JSONL export read as text chunks (a file stream) in constant memory: boundary, chain, digest lines,
 * end line, manifest signature. Lines are split and checked synchronously within a chunk; besides one SHA-256
 * per event, the cost is reading each event's tail. A format /1 export also has its SHA-256 over every byte
 * before the end line, updated once per chunk.
 */
export async function verifyJsonlText(
  chunks: AsyncIterable<string>,
  options: JsonlVerifyOptions,
): Promise<AuditVerifyReport> {
  const check = new JsonlCheck(options);
  let rest = '';
  for await (const chunk of chunks) {
    let from = 0;
    if (rest) {
      // The line cut by the last chunk boundary is checked on its own, so the chunk is read as it came: the
      // searches of the loop are about a tenth slower in `rest + chunk`, a rope, than in flat text.
      const newline = chunk.indexOf('\n');
      if (newline === -1) {
        rest += chunk;
        continue;
      }
      from = newline + 1;
      const done = await checkLines(check, rest + chunk.slice(0, from), 0);
      if (typeof done !== 'number') return done;
    }
    const done = await checkLines(check, chunk, from);
    if (typeof done !== 'number') return done;
    rest = chunk.slice(done);
  }
  if (!isBlankLine(rest)) {
    if (!textAt(rest, 0, END_PREFIX)) check.hashText(rest);
    const pending = check.line(rest, false);
    const failure = pending instanceof Promise ? await pending : pending;
    if (failure) return failure;
  }
  return check.finish();
}

/**
 * verifyJsonlText's loop: checks the complete lines of `text` from `from` on, and returns where the unfinished
 * last line starts (or the failure).
 */
async function checkLines(check: JsonlCheck, text: string, from: number): Promise<Failure | number> {
  let start = from;
  let hashedTo = from;
  for (let newline = text.indexOf('\n', start); newline !== -1; newline = text.indexOf('\n', start)) {
    // An event line (`{"a…`: accountId, actor) goes to the chain where it stands in the text.
    if (text.charCodeAt(start + 2) !== 116 /* t */ && text.charCodeAt(start) === 123 /* { */) {
      const failure = check.eventSpan(text, start, newline);
      if (failure) return failure;
      start = newline + 1;
      continue;
    }
    const raw = text.slice(start, newline);
    if (raw.charCodeAt(2) === 116 /* t */ && textAt(raw, 0, END_PREFIX)) {
      check.hashText(text.slice(hashedTo, start));
      hashedTo = newline + 1;
    }
    const pending = isBlankLine(raw) ? check.blank() : check.line(raw, false);
    const failure = pending instanceof Promise ? await pending : pending;
    if (failure) return failure;
    start = newline + 1;
    if (!check.ended) continue;
    hashedTo = Math.max(hashedTo, start);
  }
  if (!check.ended) check.hashText(text.slice(hashedTo, start));
  return start;
}

/**
 * Verifies a format /2 export read as parts (`exportParts`), in file order: stretches of the file read and
 * checked on other threads (`audit verify FILE` on a large export), linked here together with the boundary,
 * digest and end lines. Reports exactly what verifyJsonlText reports for the same bytes.
 */
export async function verifyJsonlParts(
  parts: AsyncIterable<ExportPart[]>,
  options: JsonlVerifyOptions,
): Promise<AuditVerifyReport> {
  const check = new JsonlCheck(options);
  for await (const stretch of parts) {
    for (const part of stretch) {
      const pending = typeof part === 'string' ? check.line(part, false) : check.segment(part);
      const failure = pending instanceof Promise ? await pending : pending;
      if (failure) return failure;
    }
  }
  return check.finish();
}

const END_PREFIX = '{"type":"export.end"';

/** One export's checks, line by line: `line` for each non-empty line in order, then `finish`. */
class JsonlCheck {
  private readonly hash = createHash('sha256');
  private verifier: ChainVerifier | null = null;
  private start: ChainHead = EMPTY_HEAD;
  private end: ExportEnd | null = null;
  private sawBoundary = false;
  private lineNo = 0;
  private readonly keys: JSONWebKeySet | null;
  private readonly digests = new DigestChain(true);
  private digestLines = 0;
  /** The boundary's format; until one is read, a bare list is taken as /1. */
  private format: ExportFormat = EXPORT_FORMAT_V1;

  constructor(private readonly options: JsonlVerifyOptions) {
    this.keys = options.trusted?.keys ?? null;
  }

  get ended(): boolean {
    return this.end !== null;
  }

  /** Whether the end line's SHA-256 covers the event lines too (format /1) or only the others (/2). */
  private get hashesEvents(): boolean {
    return this.format === EXPORT_FORMAT_V1;
  }

  /**
   * Adds a stretch of the file to a format /1 file hash (text mode hashes whole stretches; line mode passes
   * `hashIt`). Format /2 hashes its few non-event lines itself, in `line`.
   */
  hashText(text: string): void {
    if (text && this.hashesEvents) this.hash.update(text);
  }

  /** A blank line: skipped in format /1 (its bytes are in the file hash), refused in /2 before the end line. */
  blank(): Failure | null {
    // After the end line a blank line is no line of the export (splitting text on newlines gives one).
    if (this.hashesEvents || this.end) return null;
    return fail('jsonl', this.events(), this.head().seq + 1, 'malformed', BLANK_LINE_DETAIL);
  }

  /** A run of event lines checked on its own (`verifySegment`), linked where its lines stand in the file. */
  segment(segment: SegmentResult): Failure | null {
    if (this.end) {
      return fail(
        'jsonl',
        this.events(),
        this.head().seq + 1,
        'malformed',
        `line ${this.lineNo + 1} follows the end line`,
      );
    }
    this.lineNo += segment.lines;
    this.verifier ??= new ChainVerifier(this.start);
    if (this.verifier.pushSegment(segment)) return null;
    return this.chainFailure();
  }

  private events(): number {
    return this.verifier ? this.verifier.result().events : 0;
  }

  private head(): ChainHead {
    const result = this.verifier?.result();
    return result?.ok && result.events > 0 ? { seq: result.lastSeq, hash: result.lastHash } : this.start;
  }

  /** Checks the line `text[start, end)`, which starts as an event line does (not with `{"t`). */
  eventSpan(text: string, start: number, end: number): Failure | null {
    if (this.end) return this.line(text.slice(start, end), false) as Failure | null;
    this.lineNo += 1;
    this.verifier ??= new ChainVerifier(this.start);
    if (this.verifier.pushSpan(text, start, end, !this.hashesEvents)) return null;
    return this.chainFailure();
  }

  private chainFailure(): Failure {
    const failure = this.verifier?.result() as Extract<ReturnType<ChainVerifier['result']>, { ok: false }>;
    return fail('jsonl', failure.events, failure.firstBadSeq, failure.reason, failure.detail);
  }

  /** Checks one line; a promise only for digest lines (their signature check is asynchronous). */
  line(raw: string, hashIt: boolean): Failure | null | Promise<Failure | null> {
    this.lineNo += 1;
    const lineNo = this.lineNo;
    if (this.end)
      return fail(
        'jsonl',
        this.events(),
        this.head().seq + 1,
        'malformed',
        `line ${lineNo} follows the end line`,
      );
    // Event lines go straight to the chain verifier, which avoids parsing canonical lines; only the export's own
    // boundary, digest and end lines (which start with their type) are parsed here.
    if (raw.charCodeAt(2) !== 116 /* t */ || !textAt(raw, 0, EXPORT_LINE_PREFIX)) {
      this.verifier ??= new ChainVerifier(this.start);
      if (this.hashesEvents) {
        if (hashIt) this.hash.update(`${raw}\n`);
        if (this.verifier.pushLine(raw)) return null;
      } else if (this.verifier.pushCanonicalLine(raw)) return null;
      return this.chainFailure();
    }
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return fail('jsonl', this.events(), this.head().seq + 1, 'malformed', `line ${lineNo} is not JSON`);
    }
    if (value.type === 'export.end' && !('seq' in value)) {
      this.end = value as unknown as ExportEnd;
      return null;
    }
    if (value.type === 'export.boundary' && !('seq' in value)) {
      if (lineNo !== 1)
        return fail('jsonl', this.events(), this.head().seq + 1, 'malformed', `boundary on line ${lineNo}`);
      if (value.format !== EXPORT_FORMAT && value.format !== EXPORT_FORMAT_V1) {
        return fail(
          'jsonl',
          0,
          1,
          'malformed',
          `line 1: unknown export format ${JSON.stringify(value.format)}`,
        );
      }
      const start = { seq: value.prevSeq ?? 0, hash: value.prevHash ?? EMPTY_HEAD.hash };
      // The position every later check starts from: a seq and a SHA-256 as the sealer writes them. A prevHash
      // holding quotes would let the first line's tail read past its prevHash slot.
      if (!isChainHead(start)) {
        return fail(
          'jsonl',
          0,
          1,
          'malformed',
          'line 1: the boundary names no chain position (prevSeq, prevHash)',
        );
      }
      this.format = value.format;
      if (hashIt || !this.hashesEvents) this.hash.update(`${raw}\n`);
      this.sawBoundary = true;
      this.start = start;
      return null;
    }
    if (hashIt || !this.hashesEvents) this.hash.update(`${raw}\n`);
    if (value.type === 'export.digest' && !('seq' in value)) {
      this.digestLines += 1;
      return this.keys ? this.digest(String(value.jws ?? ''), lineNo) : null;
    }
    this.verifier ??= new ChainVerifier(this.start);
    if (this.verifier.push(value)) return null;
    return this.chainFailure();
  }

  /** A digest line: trusted signature, its place in the digest chain, and the hash of the event it ends on. */
  private async digest(jws: string, lineNo: number): Promise<Failure | null> {
    const read = await readDigest('', jws, this.keys!);
    if (!read.ok) {
      return fail(
        'jsonl',
        this.events(),
        this.head().seq,
        read.failure.reason,
        `line ${lineNo}: ${read.failure.detail}`,
      );
    }
    const problem = this.digests.add(read.digest);
    if (problem)
      return fail(
        'jsonl',
        this.events(),
        problem.firstBadSeq,
        problem.reason,
        `line ${lineNo}: ${problem.detail}`,
      );
    const at = this.head();
    const digest = read.digest.payload;
    if (digest.toSeq !== at.seq) {
      return fail(
        'jsonl',
        this.events(),
        Math.min(digest.toSeq, at.seq) + 1,
        'seq_gap',
        `line ${lineNo}: digest ${digest.n} signs up to seq ${digest.toSeq}, but the events before it end at seq ${at.seq}`,
      );
    }
    if (digest.lastHash !== at.hash) {
      return fail(
        'jsonl',
        this.events(),
        digest.fromSeq,
        'digest_mismatch',
        `line ${lineNo}: digest ${digest.n} signs a different hash for seq ${digest.toSeq}`,
      );
    }
    return null;
  }

  async finish(): Promise<AuditVerifyReport> {
    const { options, start, end } = this;
    this.verifier ??= new ChainVerifier(start);
    const chain = this.verifier.result();
    if (!chain.ok) return fail('jsonl', chain.events, chain.firstBadSeq, chain.reason, chain.detail);
    const lastSeq = chain.events ? chain.lastSeq : start.seq;
    const firstBad = chain.firstSeq ?? start.seq + 1;
    if (this.sawBoundary && !end) {
      return fail(
        'jsonl',
        chain.events,
        lastSeq + 1,
        'truncated',
        'the export has no end line; it was cut short',
      );
    }
    let unsignedBecause: string | null = null;
    const kids = new Set(this.digests.kids);
    if (!end) {
      unsignedBecause = 'a bare event list without an end line carries no signature';
    } else {
      const digest = this.hash.digest('hex');
      if (end.count !== chain.events || end.lastSeq !== lastSeq || end.lastHash !== chain.lastHash) {
        return fail(
          'jsonl',
          chain.events,
          lastSeq + 1,
          'truncated',
          `the end line promises seq ${end.lastSeq}, the file stops at ${lastSeq}`,
        );
      }
      if (end.sha256 !== digest) {
        return fail(
          'jsonl',
          chain.events,
          firstBad,
          'manifest_mismatch',
          this.hashesEvents
            ? 'the file bytes do not match the end line'
            : 'the boundary and digest lines do not match the end line',
        );
      }
      if (
        this.sawBoundary &&
        (end.format !== this.format || end.prevSeq !== start.seq || end.prevHash !== start.hash)
      ) {
        return fail(
          'jsonl',
          chain.events,
          firstBad,
          'manifest_mismatch',
          'the end line names another format or starting point than the boundary',
        );
      }
      const jws = end.signature ?? options.detachedSignature ?? null;
      if (!jws) {
        unsignedBecause = end.refused
          ? `the broker refused to sign this export: ${end.refused}`
          : 'the export carries no manifest signature';
      } else if (!this.keys) {
        unsignedBecause = noKeysDetail(options);
      } else {
        const check = await verifyCompact<ExportManifest>(jws, this.keys, MANIFEST_JWS_TYP);
        if (!check.ok) {
          return fail(
            'jsonl',
            chain.events,
            firstBad,
            check.untrusted ? 'untrusted_key' : 'signature_invalid',
            `manifest: ${check.detail}`,
          );
        }
        const { type: _type, signature: _signature, refused: _refused, ...claimed } = end;
        const { type: _mtype, ...signed } = check.payload;
        if (JSON.stringify(sortKeys(signed)) !== JSON.stringify(sortKeys(claimed))) {
          return fail(
            'jsonl',
            chain.events,
            firstBad,
            'signature_invalid',
            'the signed manifest differs from the end line',
          );
        }
        if ((end.digests ?? 0) !== this.digestLines) {
          return fail(
            'jsonl',
            chain.events,
            firstBad,
            'manifest_mismatch',
            'the digest lines differ from the manifest',
          );
        }
        kids.add(check.kid);
      }
    }
    return conclude(
      {
        ok: true,
        kind: 'jsonl',
        events: chain.events,
        firstSeq: chain.firstSeq,
        lastSeq,
        lastHash: chain.events ? chain.lastHash : start.hash,
        digests: this.keys ? this.digests.count : null,
        unsealed: null,
      },
      options,
      {
        kids: [...kids],
        signedRange:
          unsignedBecause || chain.firstSeq === null ? null : { fromSeq: chain.firstSeq, toSeq: lastSeq },
        newest: this.digests.newest?.payload ?? null,
        at: options.at ?? new Date(),
        unsignedBecause,
      },
    );
  }
}

function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const items: string[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Every digest object in the bunker, for `DigestChecker.load`. */
export async function bunkerDigests(reader: BunkerReader): Promise<Array<{ key: string; jws: string }>> {
  const digests = [];
  for (const key of await collect(reader.list(DIGESTS_DIR))) {
    if (!key.endsWith('.jws')) continue;
    digests.push({ key, jws: (await reader.get(key)) ?? '' });
  }
  return digests;
}

export interface BunkerVerifyOptions extends TrustOptions {
  /** Used only when the bunker holds no digest yet. */
  policy?: DigestPolicy;
  /** The time the heartbeat is judged at (default now). */
  at?: Date;
  /** Reports an overdue heartbeat instead of failing on it. */
  allowStale?: boolean;
}

/**
 * Verifies a bunker: every event object in seq order, the digest chain against the trusted keys, every digest
 * against its events, and the heartbeat: the newest digest must be recent at `at`.
 */
export async function verifyBunker(
  reader: BunkerReader,
  options: BunkerVerifyOptions,
): Promise<AuditVerifyReport> {
  const at = options.at ?? new Date();
  const keys = options.trusted?.keys ?? null;
  const digests = new DigestChecker();
  if (keys) {
    const problem = await digests.load(await bunkerDigests(reader), keys);
    if (problem) return fail('bunker', 0, problem.firstBadSeq, problem.reason, problem.detail);
  }

  const entries: Array<{ seq: number; id: string; key: string }> = [];
  for await (const key of reader.list(EVENTS_DIR)) {
    const parsed = parseEventKey(key);
    if (!parsed) return fail('bunker', 0, 0, 'malformed', `unexpected object ${key}`);
    entries.push({ ...parsed, key });
  }
  entries.sort((a, b) => a.seq - b.seq);
  const chain = new ChainVerifier();
  // Read ahead a few objects at a time: S3 and disks both like some concurrency, order stays seq order.
  const window = 16;
  const pending: Array<Promise<string | null>> = [];
  for (let i = 0; i < Math.min(window, entries.length); i++) pending.push(reader.get(entries[i]!.key));
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const text = await pending.shift()!;
    if (i + window < entries.length) pending.push(reader.get(entries[i + window]!.key));
    const count = chain.result().events;
    const previous = entries[i - 1];
    if (previous && previous.seq === entry.seq) {
      return fail('bunker', count, entry.seq, 'duplicate', `two objects claim seq ${entry.seq}`);
    }
    let event: AuditEvent;
    try {
      event = JSON.parse(text ?? '') as AuditEvent;
    } catch {
      return fail('bunker', count, entry.seq, 'malformed', `${entry.key} is not JSON`);
    }
    if (event.seq !== entry.seq || event.id !== entry.id) {
      return fail(
        'bunker',
        count,
        entry.seq,
        'misplaced',
        `${entry.key} holds event seq ${event.seq} (${event.id})`,
      );
    }
    if (!chain.pushLine((text ?? '').trimEnd())) {
      const failure = chain.result() as Extract<ReturnType<ChainVerifier['result']>, { ok: false }>;
      return fail('bunker', failure.events, failure.firstBadSeq, failure.reason, failure.detail);
    }
    if (!digests.push(event)) break;
  }
  const result = chain.result();
  const tail = digests.finish({
    allowUnsealedTail: !keys,
    ...(options.policy ? { policy: options.policy } : {}),
  });
  if (tail) return fail('bunker', result.events, tail.firstBadSeq, tail.reason, tail.detail);
  if (!result.ok) return fail('bunker', result.events, result.firstBadSeq, result.reason, result.detail);
  let unsignedBecause: string | null = null;
  let stale: string | undefined;
  if (!keys) unsignedBecause = noKeysDetail(options);
  else if (digests.count === 0) unsignedBecause = 'the bunker holds no signed digest';
  else {
    const overdue = digests.staleness(at);
    if (overdue && !options.allowStale) {
      return fail('bunker', result.events, overdue.firstBadSeq, overdue.reason, overdue.detail);
    }
    if (overdue) stale = overdue.detail;
  }
  const signedTo = digests.lastDigestSeq;
  return conclude(
    {
      ok: true,
      kind: 'bunker',
      events: result.events,
      firstSeq: result.firstSeq,
      lastSeq: result.lastSeq,
      lastHash: result.lastHash,
      digests: keys ? digests.count : null,
      unsealed: keys ? digests.unsealed : null,
      ...(stale ? { stale } : {}),
    },
    options,
    {
      kids: digests.kids,
      signedRange: unsignedBecause || signedTo === 0 ? null : { fromSeq: 1, toSeq: signedTo },
      newest: digests.newest,
      at,
      unsignedBecause,
    },
  );
}

export interface StoreVerifyOptions {
  reader: BunkerReader;
  /** The broker's own signing key (KMS in production). */
  trusted: TrustedKeys;
  /** Events up to this seq are in the bunker (the shipper's cursor) and must be there byte for byte. */
  shippedSeq: number;
  at?: Date;
}

/**
 * The live check behind `GET /v1/audit/verify`: the stored chain up to its head; every event the shipper
 * says it shipped compared with the bunker's object at its key, byte for byte; the bunker's digest chain against
 * the broker's key and against the stored events; and the heartbeat. Without a bunker, the chain alone.
 */
export async function verifyStore(
  store: BrokerStore,
  bunker: StoreVerifyOptions | null,
): Promise<AuditVerifyReport> {
  const at = bunker?.at ?? new Date();
  const digests = new DigestChecker();
  if (bunker) {
    const problem = await digests.load(await bunkerDigests(bunker.reader), bunker.trusted.keys);
    if (problem) return fail('store', 0, problem.firstBadSeq, problem.reason, problem.detail);
  }
  // The head first: events committed while the walk runs lie beyond it and wait for the next check.
  const head = await store.chainHead();
  const chain = new ChainVerifier();
  const objects = bunker ? new BunkerComparison(bunker.reader) : null;
  for await (const event of store.readEvents()) {
    if (event.seq > head.seq) break;
    if (!chain.push(event)) break;
    if (!digests.push(event)) break;
    if (objects && event.seq <= (bunker?.shippedSeq ?? 0)) {
      const problem = await objects.push(event);
      if (problem) return fail('store', chain.result().events, problem.seq, problem.reason, problem.detail);
    }
  }
  const result = chain.result();
  if (!result.ok) return fail('store', result.events, result.firstBadSeq, result.reason, result.detail);
  const compared = await objects?.finish();
  if (compared) return fail('store', result.events, compared.seq, compared.reason, compared.detail);
  const problem = digests.finish({ allowUnsealedTail: true });
  if (problem) return fail('store', result.events, problem.firstBadSeq, problem.reason, problem.detail);
  if (head.seq !== result.lastSeq) {
    return fail(
      'store',
      result.events,
      result.lastSeq + 1,
      'seq_gap',
      `chain head is at seq ${head.seq} but the log ends at ${result.lastSeq}`,
    );
  }
  if (head.hash !== result.lastHash) {
    return fail(
      'store',
      result.events,
      result.lastSeq,
      'hash_mismatch',
      'the last event does not match the chain head',
    );
  }
  const base = {
    ok: true as const,
    kind: 'store' as const,
    events: result.events,
    firstSeq: result.firstSeq,
    lastSeq: result.lastSeq,
    lastHash: result.lastHash,
    digests: bunker ? digests.count : null,
    unsealed: bunker ? digests.unsealed : null,
  };
  if (!bunker) {
    return conclude(
      base,
      { trusted: null, allowUnsigned: true },
      {
        kids: [],
        signedRange: null,
        newest: null,
        at,
        unsignedBecause: 'no bunker is configured: the chain alone was checked',
      },
    );
  }
  const overdue = digests.staleness(at);
  if (overdue) return fail('store', result.events, overdue.firstBadSeq, overdue.reason, overdue.detail);
  const signedTo = digests.lastDigestSeq;
  return conclude(
    base,
    { trusted: bunker.trusted },
    {
      kids: digests.kids,
      signedRange: signedTo === 0 ? null : { fromSeq: 1, toSeq: signedTo },
      newest: digests.newest,
      at,
      unsignedBecause: null,
    },
  );
}

/** Compares stored events with the bunker's objects, a window of reads ahead, in seq order. */
class BunkerComparison {
  private readonly pending: Array<{ event: AuditEvent; read: Promise<string | null> }> = [];

  constructor(
    private readonly reader: BunkerReader,
    private readonly window = 16,
  ) {}

  async push(event: AuditEvent): Promise<{ seq: number; reason: string; detail: string } | null> {
    this.pending.push({ event, read: this.reader.get(eventKey(event)) });
    return this.pending.length >= this.window ? this.settle(1) : null;
  }

  finish(): Promise<{ seq: number; reason: string; detail: string } | null> {
    return this.settle(this.pending.length);
  }

  private async settle(count: number): Promise<{ seq: number; reason: string; detail: string } | null> {
    for (let i = 0; i < count; i++) {
      const { event, read } = this.pending.shift()!;
      const stored = await read;
      const key = eventKey(event);
      if (stored === null) {
        return {
          seq: event.seq,
          reason: 'bunker_missing',
          detail: `seq ${event.seq} was shipped but ${key} is not in the bunker`,
        };
      }
      if (stored.trimEnd() !== eventBody(event)) {
        return {
          seq: event.seq,
          reason: 'bunker_mismatch',
          detail: `${key} in the bunker differs from seq ${event.seq} in the store`,
        };
      }
    }
    return null;
  }
}
