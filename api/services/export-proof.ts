/**
 * The broker's check before it signs a JSONL export: the events it read from DynamoDB must continue one chain and
 * agree with the signed digests in the bunker (checked against the broker's own key), including the digest that
 * covers the range's last event, for which it reads on past the range. The digests ending inside the range go
 * into the export as digest lines, so the file carries the sealer's own signatures. Any disagreement makes the
 * broker refuse to sign: someone rewrote the table after the events were sealed.
 */
import type { JSONWebKeySet } from 'jose';
import { type ChainHead, ChainVerifier } from '../domain/audit-chain.js';
import { DIGESTS_DIR, parseDigestKey } from '../domain/exports/bunker-layout.js';
import type { ExportDigestLine } from '../domain/exports/jsonl.js';
import type { AuditEvent } from '../domain/types.js';
import type { BunkerReader } from '../ports/bunker.js';
import { DigestChain, readDigest } from './digest-checks.js';

export interface ExportProofDeps {
  reader: BunkerReader;
  /** The broker's own public keys (its signer), never the bunker's `keys/`. */
  keys: JSONWebKeySet;
  /** Events from a seq on, to walk past the range up to the digest that covers its end. */
  readFrom(fromSeq: number): AsyncIterable<AuditEvent>;
}

export interface Refusal {
  seq: number;
  reason: string;
}

/** How far past the range the walk to a covering digest may go (a digest comes at least every N events). */
const MAX_WALK = 10_000;

export class ExportProof {
  private keys: Array<{ key: string; toSeq: number }> = [];
  private next = 0;
  private readonly digests = new DigestChain(true);
  private chain: ChainVerifier | null = null;
  refusal: Refusal | null = null;
  lines = 0;

  constructor(private readonly deps: ExportProofDeps) {}

  /** Before the first event: finds the digests from the boundary on; returns the lines of those ending on it. */
  async start(boundary: ChainHead): Promise<string[]> {
    this.chain = new ChainVerifier(boundary);
    for await (const key of this.deps.reader.list(DIGESTS_DIR)) {
      const parsed = parseDigestKey(key);
      if (parsed && parsed.toSeq >= boundary.seq) this.keys.push({ key, toSeq: parsed.toSeq });
    }
    return this.endingAt(boundary);
  }

  /** After an event is written: the chain check, and the lines of the digests ending on it. */
  async after(event: AuditEvent): Promise<string[]> {
    if (this.refusal) return [];
    if (!this.chain?.push(event)) {
      const result = this.chain?.result();
      this.refuse(event.seq, result && !result.ok ? `${result.reason}: ${result.detail}` : 'chain broken');
      return [];
    }
    return this.endingAt({ seq: event.seq, hash: event.hash });
  }

  /** After the last event: reads on to the end of the digest that covers it and checks that one too. */
  async finish(last: ChainHead): Promise<void> {
    if (this.refusal) return;
    const covering = this.keys[this.next];
    if (!covering) return;
    const walk = new ChainVerifier(last);
    for await (const event of this.deps.readFrom(last.seq + 1)) {
      if (!walk.push(event)) break;
      if (event.seq >= covering.toSeq || event.seq - last.seq > MAX_WALK) break;
    }
    const result = walk.result();
    if (!result.ok || result.lastSeq < covering.toSeq) {
      this.refuse(last.seq + 1, `the events after the range do not reach the digest ${covering.key}`);
      return;
    }
    await this.endingAt({ seq: result.lastSeq, hash: result.lastHash });
  }

  private async endingAt(head: ChainHead): Promise<string[]> {
    const lines: string[] = [];
    while (!this.refusal && this.keys[this.next]?.toSeq === head.seq) {
      const { key } = this.keys[this.next]!;
      this.next += 1;
      const jws = ((await this.deps.reader.get(key)) ?? '').trim();
      const read = await readDigest(key, jws, this.deps.keys);
      if (!read.ok) {
        this.refuse(read.failure.firstBadSeq, read.failure.detail);
        break;
      }
      const problem = this.digests.add(read.digest);
      if (problem) {
        this.refuse(problem.firstBadSeq, problem.detail);
        break;
      }
      if (read.digest.payload.lastHash !== head.hash) {
        this.refuse(
          read.digest.payload.fromSeq,
          `the stored events ${read.digest.payload.fromSeq}..${head.seq} differ from what ${key} signed`,
        );
        break;
      }
      const line: ExportDigestLine = { type: 'export.digest', jws };
      lines.push(`${JSON.stringify(line)}\n`);
      this.lines += 1;
    }
    return lines;
  }

  private refuse(seq: number, reason: string): void {
    this.refusal ??= { seq, reason };
  }
}
