/**
 * Verifies audit evidence and names the first bad seq: a JSONL export (chain from its boundary, end line,
 * manifest signature), a bunker (its events, its signed digests against the published keys) or the live store
 * together with the bunker's digests.
 */

import { createHash } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import { type ChainHead, ChainVerifier, EMPTY_HEAD } from '../domain/audit-chain.js';
import { DIGESTS_DIR, EVENTS_DIR, KEYS_DIR, parseEventKey } from '../domain/exports/bunker-layout.js';
import type { ExportEnd, ExportManifest } from '../domain/exports/jsonl.js';
import type { AuditEvent } from '../domain/types.js';
import type { BunkerReader } from '../ports/bunker.js';
import type { BrokerStore } from '../ports/store.js';
import { DigestChecker, type DigestPolicy, MANIFEST_JWS_TYP, verifyCompact } from './digests.js';

export type AuditVerifyReport =
  | {
      ok: true;
      kind: 'jsonl' | 'bunker' | 'store';
      events: number;
      firstSeq: number | null;
      lastSeq: number;
      lastHash: string;
      /** Digests checked (bunker and store), or null when not applicable. */
      digests: number | null;
      /** Events after the newest digest. */
      unsealed: number | null;
      /** Export manifest / digests signature status. */
      signature: 'valid' | 'absent' | 'unchecked';
      keySource: 'given' | 'bunker' | 'broker' | null;
    }
  | {
      ok: false;
      kind: 'jsonl' | 'bunker' | 'store';
      events: number;
      firstBadSeq: number;
      reason: string;
      detail: string;
    };

type Failure = Extract<AuditVerifyReport, { ok: false }>;

const fail = (
  kind: Failure['kind'],
  events: number,
  firstBadSeq: number,
  reason: string,
  detail: string,
): Failure => ({
  ok: false,
  kind,
  events,
  firstBadSeq,
  reason,
  detail,
});

export interface JsonlVerifyOptions {
  keys?: JSONWebKeySet | null;
  /** A detached `.sig` (compact JWS of the manifest), when the export's end line carries none. */
  detachedSignature?: string | null;
  /** Fail when no signature can be checked. */
  requireSignature?: boolean;
}

/** Verifies JSONL lines in constant memory: boundary, chain, end line, manifest signature. */
export async function verifyJsonl(
  lines: AsyncIterable<string>,
  options: JsonlVerifyOptions = {},
): Promise<AuditVerifyReport> {
  const hash = createHash('sha256');
  let verifier: ChainVerifier | null = null;
  let start: ChainHead = EMPTY_HEAD;
  let end: ExportEnd | null = null;
  let sawBoundary = false;
  let lineNo = 0;
  const events = () => (verifier ? verifier.result().events : 0);
  const nextSeq = () => {
    const result = verifier?.result();
    return result?.ok ? result.lastSeq + 1 : start.seq + 1;
  };
  for await (const raw of lines) {
    lineNo += 1;
    if (raw.trim() === '') continue;
    if (end) return fail('jsonl', events(), nextSeq(), 'malformed', `line ${lineNo} follows the end line`);
    // Event lines go straight to the chain verifier, which avoids parsing canonical lines; only the
    // export's own boundary and end lines (which start with their type) are parsed here.
    if (!raw.startsWith('{"type":"export.')) {
      hash.update(`${raw}\n`);
      verifier ??= new ChainVerifier(start);
      if (!verifier.pushLine(raw)) {
        const failure = verifier.result() as Extract<ReturnType<ChainVerifier['result']>, { ok: false }>;
        return fail('jsonl', failure.events, failure.firstBadSeq, failure.reason, failure.detail);
      }
      continue;
    }
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return fail('jsonl', events(), nextSeq(), 'malformed', `line ${lineNo} is not JSON`);
    }
    if (value.type === 'export.boundary' && !('seq' in value)) {
      if (lineNo !== 1) return fail('jsonl', events(), nextSeq(), 'malformed', `boundary on line ${lineNo}`);
      sawBoundary = true;
      start = { seq: Number(value.prevSeq ?? 0), hash: String(value.prevHash ?? EMPTY_HEAD.hash) };
      hash.update(`${raw}\n`);
      continue;
    }
    if (value.type === 'export.end' && !('seq' in value)) {
      end = value as unknown as ExportEnd;
      continue;
    }
    hash.update(`${raw}\n`);
    verifier ??= new ChainVerifier(start);
    if (!verifier.push(value)) {
      const failure = verifier.result() as Extract<ReturnType<ChainVerifier['result']>, { ok: false }>;
      return fail('jsonl', failure.events, failure.firstBadSeq, failure.reason, failure.detail);
    }
  }
  verifier ??= new ChainVerifier(start);
  const chain = verifier.result();
  if (!chain.ok) return fail('jsonl', chain.events, chain.firstBadSeq, chain.reason, chain.detail);
  const lastSeq = chain.events ? chain.lastSeq : start.seq;
  if (sawBoundary && !end) {
    return fail(
      'jsonl',
      chain.events,
      lastSeq + 1,
      'truncated',
      'the export has no end line; it was cut short',
    );
  }
  let signature: 'valid' | 'absent' | 'unchecked' = 'absent';
  if (end) {
    const digest = hash.digest('hex');
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
        chain.firstSeq ?? start.seq + 1,
        'manifest_mismatch',
        'the file bytes do not match the end line',
      );
    }
    const jws = end.signature ?? options.detachedSignature ?? null;
    if (jws) {
      if (!options.keys) {
        signature = 'unchecked';
      } else {
        const check = await verifyCompact<ExportManifest>(jws, options.keys, MANIFEST_JWS_TYP);
        const { type: _type, signature: _signature, ...claimed } = end;
        if (!check.ok) {
          return fail(
            'jsonl',
            chain.events,
            chain.firstSeq ?? start.seq + 1,
            'signature_invalid',
            check.detail,
          );
        }
        const { type: _mtype, ...signed } = check.payload;
        if (JSON.stringify(sortKeys(signed)) !== JSON.stringify(sortKeys(claimed))) {
          return fail(
            'jsonl',
            chain.events,
            chain.firstSeq ?? start.seq + 1,
            'signature_invalid',
            'the signed manifest differs from the end line',
          );
        }
        signature = 'valid';
      }
    }
  }
  if (options.requireSignature && signature !== 'valid') {
    return fail(
      'jsonl',
      chain.events,
      chain.firstSeq ?? start.seq + 1,
      'signature_missing',
      `no verifiable signature (${signature})`,
    );
  }
  return {
    ok: true,
    kind: 'jsonl',
    events: chain.events,
    firstSeq: chain.firstSeq,
    lastSeq,
    lastHash: chain.events ? chain.lastHash : start.hash,
    digests: null,
    unsealed: null,
    signature,
    keySource: options.keys ? 'given' : null,
  };
}

function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const items: string[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** The public keys a bunker carries under `keys/` (written by the shipper). */
export async function bunkerKeys(reader: BunkerReader): Promise<JSONWebKeySet> {
  const keys = [];
  for (const key of await collect(reader.list(KEYS_DIR))) {
    const text = await reader.get(key);
    if (text) keys.push(JSON.parse(text));
  }
  return { keys };
}

async function loadDigests(reader: BunkerReader, keys: JSONWebKeySet, checker: DigestChecker) {
  const digests = [];
  for (const key of await collect(reader.list(DIGESTS_DIR))) {
    if (!key.endsWith('.jws')) continue;
    digests.push({ key, jws: (await reader.get(key)) ?? '' });
  }
  return checker.load(digests, keys);
}

export interface BunkerVerifyOptions {
  /** Trusted keys (e.g. fetched from the broker); the bunker's own `keys/` otherwise. */
  keys?: JSONWebKeySet | null;
  /** Used only when the bunker holds no digest yet. */
  policy?: DigestPolicy;
}

/** Verifies a bunker: every event object in seq order, and every digest against the keys. */
export async function verifyBunker(
  reader: BunkerReader,
  options: BunkerVerifyOptions = {},
): Promise<AuditVerifyReport> {
  const keys = options.keys ?? (await bunkerKeys(reader));
  const digests = new DigestChecker();
  const digestProblem = await loadDigests(reader, keys, digests);
  if (digestProblem)
    return fail('bunker', 0, digestProblem.firstBadSeq, digestProblem.reason, digestProblem.detail);

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
    allowUnsealedTail: false,
    ...(options.policy ? { policy: options.policy } : {}),
  });
  if (tail) return fail('bunker', result.events, tail.firstBadSeq, tail.reason, tail.detail);
  if (!result.ok) return fail('bunker', result.events, result.firstBadSeq, result.reason, result.detail);
  return {
    ok: true,
    kind: 'bunker',
    events: result.events,
    firstSeq: result.firstSeq,
    lastSeq: result.lastSeq,
    lastHash: result.lastHash,
    digests: digests.count,
    unsealed: digests.unsealed,
    signature: digests.count > 0 ? 'valid' : 'absent',
    keySource: options.keys ? 'given' : 'bunker',
  };
}

/** The live check behind `GET /v1/audit/verify`: the stored chain up to its head, and the bunker's digests. */
export async function verifyStore(
  store: BrokerStore,
  bunker: { reader: BunkerReader; keys: JSONWebKeySet } | null,
): Promise<AuditVerifyReport> {
  const digests = new DigestChecker();
  if (bunker) {
    const problem = await loadDigests(bunker.reader, bunker.keys, digests);
    if (problem) return fail('store', 0, problem.firstBadSeq, problem.reason, problem.detail);
  }
  // The head first: events committed while the walk runs lie beyond it and wait for the next check.
  const head = await store.chainHead();
  const chain = new ChainVerifier();
  for await (const event of store.readEvents()) {
    if (event.seq > head.seq) break;
    if (!chain.push(event)) break;
    if (!digests.push(event)) break;
  }
  const result = chain.result();
  if (!result.ok) return fail('store', result.events, result.firstBadSeq, result.reason, result.detail);
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
  return {
    ok: true,
    kind: 'store',
    events: result.events,
    firstSeq: result.firstSeq,
    lastSeq: result.lastSeq,
    lastHash: result.lastHash,
    digests: bunker ? digests.count : null,
    unsealed: bunker ? digests.unsealed : null,
    signature: bunker && digests.count > 0 ? 'valid' : 'absent',
    keySource: bunker ? 'broker' : null,
  };
}
