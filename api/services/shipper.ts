/**
 * Ships the audit chain to the data bunker: at least once, one write-once object per event, with a signed digest
 * every N events and at least every T minutes even when nothing happened (the heartbeat that makes deleting the
 * newest events and digests visible). Objects go out a window at a time (16 puts at once); a cursor item records how far
 * shipping got and moves in seq order only over objects known to be in the bunker, so a crash replays at most a
 * window (the bunker answers "identical") and never skips one.
 */

import { digestKey, eventBody, eventKey, publicKeyKey } from '../domain/exports/bunker-layout.js';
import type { AuditEvent } from '../domain/types.js';
import type { DigestState, ShipperCursor, ShipperCursorStore } from '../ports/bunker.js';
import { type AuditSigner, BunkerConflict, type BunkerSink } from '../ports/bunker.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { ReadinessCheck } from '../ports/readiness.js';
import type { BrokerStore } from '../ports/store.js';
import {
  auditJwks,
  buildDigest,
  DIGEST_JWS_TYP,
  type DigestPayload,
  type DigestPolicy,
  sha256HexSync,
  signCompact,
} from './digests.js';

export interface ShippingLag {
  headSeq: number;
  shippedSeq: number;
  lagEvents: number;
  /** Age of the oldest event not yet shipped; null when nothing is waiting. */
  oldestUnshippedAgeSeconds: number | null;
  lastDigestSeq: number;
  halted: boolean;
}

export interface ShipResult {
  shipped: number;
  lastSeq: number;
  /** True when shipping is stopped by a bunker conflict. */
  halted?: boolean;
}

export interface AuditShipperDeps {
  store: BrokerStore;
  sink: BunkerSink;
  cursor: ShipperCursorStore;
  /** Null disables digests (not recommended outside tests). */
  signer: AuditSigner | null;
  policy: DigestPolicy;
  clock: Clock;
  logger: Logger;
  /** Events shipped between cursor saves; a crash replays at most this many. */
  checkpointEvery?: number;
  /** Upper bound per call, so one Lambda invocation stays well inside its timeout. */
  maxPerRun?: number;
  /**
   * Objects written at once (default 16). The cursor still moves in seq order and only over objects known to be
   * in the bunker, so a crash or a failed put replays at most one window and never skips an event.
   */
  parallelPuts?: number;
  /** `/readyz` turns red when the oldest unshipped event is older than this. */
  maxLagSeconds?: number;
}

const SHIPPER_ACTOR = { type: 'system' as const, subject: 'bunker-shipper' };

export class AuditShipper {
  private inflight: Promise<ShipResult> | null = null;
  private keysPublished = false;

  constructor(private readonly deps: AuditShipperDeps) {}

  /** Ships every event after the cursor. Concurrent calls in one process share the run in progress. */
  shipPending(): Promise<ShipResult> {
    this.inflight ??= this.run().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async run(): Promise<ShipResult> {
    const { store, sink, policy, signer, logger } = this.deps;
    const checkpointEvery = this.deps.checkpointEvery ?? 25;
    const maxPerRun = this.deps.maxPerRun ?? 5000;
    let cursor = await this.deps.cursor.read();
    if (cursor.halted) {
      logger.error({ halted: cursor.halted }, 'bunker shipping is halted by a conflict; see docs/audit.md');
      return { shipped: 0, lastSeq: cursor.shippedSeq, halted: true };
    }
    await this.publishKeys();
    cursor = await this.completeDigest(cursor);
    let shipped = 0;
    let unsaved = 0;
    const parallel = this.deps.parallelPuts ?? 16;
    /** Puts a window of events at once, then moves the cursor over them in seq order (never past a failed one). */
    const flush = async (window: AuditEvent[]) => {
      const objects = window.map((event) => ({ key: eventKey(event), body: eventBody(event) }));
      const puts = sink.putMany
        ? await sink.putMany(objects)
        : await Promise.allSettled(objects.map((object) => sink.put(object.key, object.body)));
      for (const [index, event] of window.entries()) {
        const put = puts[index]!;
        if (put.status === 'rejected') throw put.reason;
        cursor = {
          ...cursor,
          shippedSeq: event.seq,
          shippedHash: event.hash,
          shippedAt: this.now().toISOString(),
        };
        shipped += 1;
        unsaved += 1;
        const digestedTo = cursor.lastDigest?.toSeq ?? 0;
        if (signer && event.seq - digestedTo >= policy.everyEvents) {
          cursor = await this.sealDigest(cursor, event);
          unsaved = 0;
        } else if (unsaved >= checkpointEvery) {
          cursor = await this.save(cursor);
          unsaved = 0;
        }
      }
    };
    try {
      let window: AuditEvent[] = [];
      let expected = { seq: cursor.shippedSeq + 1, prevHash: cursor.shippedHash };
      for await (const event of store.readEvents({ fromSeq: cursor.shippedSeq + 1 })) {
        if (event.seq !== expected.seq || event.prevHash !== expected.prevHash) {
          // Never ship past a hole or a fork: the bunker must hold one unbroken chain.
          logger.error(
            { expectedSeq: expected.seq, foundSeq: event.seq },
            'audit chain in the store does not continue the shipped chain; shipping paused',
          );
          break;
        }
        window.push(event);
        expected = { seq: event.seq + 1, prevHash: event.hash };
        if (window.length >= parallel) {
          await flush(window);
          window = [];
        }
        if (shipped + window.length >= maxPerRun) break;
      }
      if (window.length > 0) await flush(window);
    } catch (error) {
      if (unsaved > 0) cursor = await this.save(cursor);
      if (error instanceof BunkerConflict) {
        await this.halt(cursor, error);
        return { shipped, lastSeq: cursor.shippedSeq, halted: true };
      }
      throw error;
    }
    if (unsaved > 0) cursor = await this.save(cursor);
    // The heartbeat: a digest at least every `everyMinutes`, covering what was shipped since, or nothing.
    const lastDigestAt = cursor.lastDigest ? Date.parse(cursor.lastDigest.time) : Number.NEGATIVE_INFINITY;
    if (signer && this.now().getTime() - lastDigestAt >= policy.everyMinutes * 60_000) {
      cursor = await this.sealDigest(cursor, { seq: cursor.shippedSeq, hash: cursor.shippedHash });
    }
    if (shipped > 0) await this.emitMetric(shipped);
    return { shipped, lastSeq: cursor.shippedSeq };
  }

  /** Lag for `/readyz` and metrics: events in the chain not yet in the bunker, and how old the oldest is. */
  async lag(): Promise<ShippingLag> {
    const [head, cursor] = await Promise.all([this.deps.store.chainHead(), this.deps.cursor.read()]);
    let oldestUnshippedAgeSeconds: number | null = null;
    if (head.seq > cursor.shippedSeq) {
      for await (const event of this.deps.store.readEvents({ fromSeq: cursor.shippedSeq + 1 })) {
        oldestUnshippedAgeSeconds = Math.max(
          0,
          Math.round((this.now().getTime() - new Date(event.time).getTime()) / 1000),
        );
        break;
      }
    }
    return {
      headSeq: head.seq,
      shippedSeq: cursor.shippedSeq,
      lagEvents: Math.max(0, head.seq - cursor.shippedSeq),
      oldestUnshippedAgeSeconds,
      lastDigestSeq: cursor.lastDigest?.toSeq ?? 0,
      halted: cursor.halted !== null,
    };
  }

  /** The `bunker` entry of `/readyz`. */
  readiness(): ReadinessCheck {
    const maxLag = this.deps.maxLagSeconds ?? 900;
    return {
      name: 'bunker',
      check: async () => {
        const [lag, mismatch] = await Promise.all([this.lag(), this.spotCheck()]);
        const stale = (lag.oldestUnshippedAgeSeconds ?? 0) > maxLag;
        return {
          ok: !lag.halted && !stale && !mismatch,
          ...(lag.halted ? { detail: 'shipping halted by a bunker conflict' } : {}),
          ...(stale ? { detail: `oldest unshipped event is older than ${maxLag}s` } : {}),
          ...(mismatch ? { detail: `bunker mismatch: ${mismatch}` } : {}),
          location: this.deps.sink.location,
          ...lag,
        };
      },
    };
  }

  /**
   * A cheap probe for `/readyz`: the newest shipped event and the newest digest must be in the bunker with the
   * bytes the broker wrote. `GET /v1/audit/verify` compares everything; this catches a trimmed bunker at once.
   */
  async spotCheck(): Promise<string | null> {
    const cursor = await this.deps.cursor.read();
    if (cursor.shippedSeq > 0) {
      for await (const event of this.deps.store.readEvents({ fromSeq: cursor.shippedSeq })) {
        const stored = await this.deps.sink.get(eventKey(event));
        if (stored === null) return `${eventKey(event)} (seq ${event.seq}) is missing`;
        if (stored.trimEnd() !== eventBody(event)) return `${eventKey(event)} (seq ${event.seq}) differs`;
        break;
      }
    }
    const digest = cursor.lastDigest;
    if (digest?.written) {
      const stored = await this.deps.sink.get(digest.key);
      if (stored === null) return `${digest.key} is missing`;
      if (stored.trim() !== digest.jws) return `${digest.key} differs`;
    }
    return null;
  }

  private async sealDigest(
    cursor: ShipperCursor,
    last: Pick<AuditEvent, 'seq' | 'hash'>,
  ): Promise<ShipperCursor> {
    const previous = cursor.lastDigest;
    const payload = buildDigest({
      previous,
      previousJwsSha256: previous?.sha256 ?? null,
      last,
      time: this.now().toISOString(),
      policy: this.deps.policy,
    });
    const jws = await signCompact(this.deps.signer!, payload, DIGEST_JWS_TYP);
    const state: DigestState = {
      n: payload.n,
      fromSeq: payload.fromSeq,
      toSeq: payload.toSeq,
      lastHash: payload.lastHash,
      time: payload.time,
      key: digestKey(payload),
      jws,
      sha256: sha256HexSync(jws),
      written: false,
    };
    // The digest is fixed in the cursor before it is written, so a crash re-writes the same bytes.
    const saved = await this.save({ ...cursor, lastDigest: state });
    return this.completeDigest(saved);
  }

  private async completeDigest(cursor: ShipperCursor): Promise<ShipperCursor> {
    const digest = cursor.lastDigest;
    if (!digest || digest.written) return cursor;
    try {
      await this.deps.sink.put(digest.key, `${digest.jws}\n`, 'application/jose');
      return this.save({ ...cursor, lastDigest: { ...digest, written: true } });
    } catch (error) {
      if (!(error instanceof BunkerConflict)) throw error;
      // ECDSA signatures differ on every signing: after a lost cursor, a valid digest of the same range may
      // already be there. Adopt it; anything else is a real conflict.
      const existing = (await this.deps.sink.get(digest.key))?.trim() ?? '';
      // Loaded here, not with the shipper: this is its only verification, on a path a healthy bunker never takes.
      const { verifyCompact } = await import('./digest-checks.js');
      const check = await verifyCompact<DigestPayload>(
        existing,
        await auditJwks(this.deps.signer!),
        DIGEST_JWS_TYP,
      );
      const ours = JSON.parse(
        Buffer.from(digest.jws.split('.')[1] ?? '', 'base64url').toString(),
      ) as DigestPayload;
      const same =
        check.ok &&
        check.payload.n === ours.n &&
        check.payload.fromSeq === ours.fromSeq &&
        check.payload.toSeq === ours.toSeq &&
        check.payload.lastHash === ours.lastHash &&
        check.payload.firstPrevHash === ours.firstPrevHash &&
        check.payload.prevDigest === ours.prevDigest;
      if (!same) throw error;
      return this.save({
        ...cursor,
        lastDigest: {
          ...digest,
          jws: existing,
          sha256: sha256HexSync(existing),
          time: check.payload.time,
          written: true,
        },
      });
    }
  }

  private async save(cursor: ShipperCursor): Promise<ShipperCursor> {
    const next = { ...cursor, version: cursor.version + 1 };
    await this.deps.cursor.write(next);
    return next;
  }

  private async halt(cursor: ShipperCursor, conflict: BunkerConflict): Promise<void> {
    const seq = cursor.shippedSeq + 1;
    await this.deps.store.appendEvents([
      {
        type: 'bunker.conflict',
        actor: SHIPPER_ACTOR,
        data: {
          key: conflict.key,
          seq,
          expectedSha256: conflict.expectedSha256,
          foundSha256: conflict.foundSha256,
          location: this.deps.sink.location,
        },
      },
    ]);
    await this.save({
      ...cursor,
      halted: {
        key: conflict.key,
        seq,
        at: this.now().toISOString(),
        expectedSha256: conflict.expectedSha256,
        foundSha256: conflict.foundSha256,
      },
    });
    this.deps.logger.error(
      { key: conflict.key, seq },
      'bunker holds different bytes at our key; shipping halted',
    );
  }

  /** Writes the public keys into the bunker once per process, so a copy of the bunker verifies on its own. */
  private async publishKeys(): Promise<void> {
    if (this.keysPublished || !this.deps.signer) return;
    for (const key of await this.deps.signer.publicKeys()) {
      await this.deps.sink.put(publicKeyKey(key.kid), `${JSON.stringify(key)}\n`);
    }
    this.keysPublished = true;
  }

  /** One log line per run that shipped something, in CloudWatch embedded-metric format. */
  private async emitMetric(shipped: number): Promise<void> {
    const lag = await this.lag();
    this.deps.logger.info(
      {
        metric: 'bunker.shipping',
        shipped,
        ...lag,
        _aws: {
          Timestamp: this.now().getTime(),
          CloudWatchMetrics: [
            {
              Namespace: 'Breakglass',
              Dimensions: [[]],
              Metrics: [
                { Name: 'BunkerShipped', Unit: 'Count' },
                { Name: 'BunkerLagEvents', Unit: 'Count' },
                { Name: 'BunkerLagSeconds', Unit: 'Seconds' },
              ],
            },
          ],
        },
        BunkerShipped: shipped,
        BunkerLagEvents: lag.lagEvents,
        BunkerLagSeconds: lag.oldestUnshippedAgeSeconds ?? 0,
      },
      'bunker shipping',
    );
  }

  private now(): Date {
    return this.deps.clock.now();
  }
}

export interface Bunker {
  sink: BunkerSink;
  signer: AuditSigner;
  shipper: AuditShipper;
  /** The chain the bunker is fed from, for exports and verification. */
  store: BrokerStore;
}
