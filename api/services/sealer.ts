/**
 * The one writer of the audit chain. Commits store their events as unsealed journal entries and touch nothing
 * shared; the sealer takes those entries in the order it finds them, gives each the next seq, the previous hash
 * and its own hash (`sealAll`), and stores a batch in one transaction that also moves the chain head from where
 * it read it. A second sealer running by mistake loses that condition and stops — the chain never forks — and
 * an entry sealed once is never sealed again (the same transaction records it as sealed: see
 * `AuditJournal.seal`). While it seals, it ships what is already sealed to the bunker and writes the signed
 * digests (`AuditShipper`): the seal transactions wait on DynamoDB and the bunker writes on the file system or
 * S3, so the two overlap. A crash anywhere resumes with no gap and no duplicate: what committed is either
 * sealed or still unsealed, and the shipper's cursor moves only over objects in the bunker.
 */
import { sealAll } from '../domain/audit-chain.js';
import { type AuditJournal, type EntryRef, SealConflict } from '../ports/audit-journal.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { ReadinessCheck } from '../ports/readiness.js';
import type { ShipResult } from './shipper.js';

export interface SealResult {
  sealed: number;
  lastSeq: number;
  /** Longest commit→sealed wait among the events sealed in this run (ms); 0 when none. */
  maxLagMs: number;
  shipped?: ShipResult;
}

export interface SealLag {
  unsealed: number;
  /** Seconds the oldest unsealed event has waited; null when none waits. */
  oldestUnsealedAgeSeconds: number | null;
}

export interface SealerDeps {
  journal: AuditJournal;
  /** Ships what was sealed; absent in tests of sealing alone. */
  shipper?: { shipPending(): Promise<ShipResult> };
  clock: Clock;
  logger: Logger;
  /** `/readyz` fails when the oldest unsealed event is older than this (seconds). */
  maxLagSeconds: number;
  /** Upper bound per run, so a Lambda invocation stays inside its timeout. */
  maxPerRun?: number;
}

const MAX_HEAD_CONFLICTS = 5;

export class Sealer {
  private running: Promise<SealResult> | null = null;
  private again = false;
  /** Set while a run waits for its shipping passes: a new commit ends the wait, to be sealed at once. */
  private wakeUp: (() => void) | null = null;

  constructor(private readonly deps: SealerDeps) {}

  /**
   * Seals everything unsealed and ships it; shipping starts after the first batch and follows the sealing, and
   * the run ends once everything it sealed is shipped. Calls during a run share it and make it seal once more
   * before it ends, so an entry committed while a run was finishing is never left waiting for the next trigger.
   */
  run(): Promise<SealResult> {
    if (this.running) {
      this.again = true;
      this.wakeUp?.();
      return this.running;
    }
    this.running = (async () => {
      let result: SealResult;
      // One shipping companion for the whole run: a commit that arrives meanwhile is sealed at once, without
      // waiting for the bunker to catch up with what was sealed before it.
      const shipping = this.deps.shipper ? new ShippingAlong(this.deps.shipper) : null;
      let sealed = 0;
      for (;;) {
        do {
          this.again = false;
          result = await this.sealPending(() => shipping?.kick());
          sealed += result.sealed;
          if (result.sealed > 0) this.emitMetric(result);
        } while (this.again);
        if (!shipping) break;
        // Wait for the shipping passes under way, unless a new commit asks for sealing first.
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          void shipping.settled().then(resolve);
        });
        this.wakeUp = null;
        if (this.again) continue;
        result.shipped = await shipping.finish();
        if (!this.again) break;
      }
      return { ...result, sealed };
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Seals unsealed entries in batches until none is left (or `maxPerRun`); `afterBatch` runs after each. */
  async sealPending(afterBatch?: () => void): Promise<SealResult> {
    const { journal } = this.deps;
    const maxPerRun = this.deps.maxPerRun ?? 50_000;
    /** Entries found sealed already (the unsealed index lags behind the table); skipped for this run. */
    const skip = new Set<string>();
    let sealed = 0;
    let maxLagMs = 0;
    let conflicts = 0;
    let lastSeq = 0;
    // Each look at the journal brings the head it read first, so a run costs no separate head read. A look that
    // reached the end of the journal (it saw everything committed before it) ends the run once its entries are
    // sealed — unless a commit woke this sealer meanwhile (`again`): the next look then seals it. A commit the
    // look missed has its own trigger still to come (the local wake-up, its stream record, the next sweep).
    while (sealed < maxPerRun) {
      const found = await journal.unsealed(journal.sealBatchLimit + skip.size);
      const { head } = found;
      lastSeq = head.seq;
      const waiting = found.entries.filter((entry) => !skip.has(refKey(entry.ref)));
      // Events of one commit share their entry's ref and are sealed together, even past the limit.
      let end = Math.min(waiting.length, journal.sealBatchLimit);
      while (end < waiting.length && refKey(waiting[end]!.ref) === refKey(waiting[end - 1]!.ref)) end += 1;
      const batch = waiting.slice(0, end);
      if (batch.length === 0) break;
      const chained = sealAll(
        batch.map((entry) => entry.event),
        head,
      );
      try {
        await journal.seal(
          head,
          batch.map((entry, index) => ({ ref: entry.ref, event: chained.sealed[index]! })),
        );
        lastSeq = chained.head.seq;
        sealed += batch.length;
        const sealedAt = this.deps.clock.now().getTime();
        for (const entry of batch) maxLagMs = Math.max(maxLagMs, sealedAt - Date.parse(entry.event.time));
        afterBatch?.();
        if (found.complete && batch.length === waiting.length && !this.again) break;
      } catch (error) {
        if (!(error instanceof SealConflict)) throw error;
        if (error.target === 'entry') {
          for (const ref of error.sealedAlready) skip.add(refKey(ref));
        } else {
          conflicts += 1;
          if (conflicts >= MAX_HEAD_CONFLICTS) {
            this.deps.logger.warn(
              { conflicts },
              'audit chain head keeps moving: another sealer is running; yielding',
            );
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 20 * conflicts));
        }
      }
    }
    return { sealed, lastSeq, maxLagMs };
  }

  /** One log line per run that sealed something, in CloudWatch embedded-metric format (the seal-lag alarm). */
  private emitMetric(result: SealResult): void {
    this.deps.logger.info(
      {
        metric: 'audit.sealing',
        sealed: result.sealed,
        lastSeq: result.lastSeq,
        _aws: {
          Timestamp: this.deps.clock.now().getTime(),
          CloudWatchMetrics: [
            {
              Namespace: 'Breakglass',
              Dimensions: [[]],
              Metrics: [
                { Name: 'EventsSealed', Unit: 'Count' },
                { Name: 'SealLagSeconds', Unit: 'Seconds' },
              ],
            },
          ],
        },
        EventsSealed: result.sealed,
        SealLagSeconds: Math.round(result.maxLagMs / 1000),
      },
      'audit sealed',
    );
  }

  async lag(): Promise<SealLag> {
    const backlog = await this.deps.journal.backlog();
    return {
      unsealed: backlog.count,
      oldestUnsealedAgeSeconds:
        backlog.oldestTime === null
          ? null
          : Math.max(
              0,
              Math.round((this.deps.clock.now().getTime() - new Date(backlog.oldestTime).getTime()) / 1000),
            ),
    };
  }

  /** The `sealer` entry of `/readyz`: red when sealing lags beyond the configured threshold. */
  readiness(): ReadinessCheck {
    return {
      name: 'sealer',
      check: async () => {
        const lag = await this.lag();
        const stale = (lag.oldestUnsealedAgeSeconds ?? 0) > this.deps.maxLagSeconds;
        return {
          ok: !stale,
          ...(stale ? { detail: `oldest unsealed event is older than ${this.deps.maxLagSeconds}s` } : {}),
          ...lag,
        };
      },
    };
  }
}

/**
 * Shipping that follows a sealing run: `kick` after each sealed batch starts a shipping pass unless one is under
 * way (then one more follows it); `finish` waits for the passes and makes a last one, so everything sealed
 * before it was called is shipped. A failed pass stops further passes and is thrown by `finish`, after the
 * sealing it ran beside has finished — as when shipping ran after sealing.
 */
class ShippingAlong {
  private current: Promise<void> | null = null;
  private wanted = false;
  private failure: { error: unknown } | null = null;
  private shipped = 0;
  private last: ShipResult | null = null;

  constructor(private readonly shipper: { shipPending(): Promise<ShipResult> }) {}

  kick(): void {
    if (this.failure) return;
    if (this.current) {
      this.wanted = true;
      return;
    }
    this.current = this.pass().finally(() => {
      this.current = null;
      if (this.wanted) {
        this.wanted = false;
        this.kick();
      }
    });
  }

  /** Resolves when no pass is under way (passes never reject: a failure is kept for `finish`). */
  async settled(): Promise<void> {
    while (this.current) await this.current;
  }

  async finish(): Promise<ShipResult> {
    await this.settled();
    // The last pass goes through `kick` too, so a batch sealed meanwhile never starts a second pass beside it.
    this.kick();
    await this.settled();
    if (this.failure) throw this.failure.error;
    return { ...this.last!, shipped: this.shipped };
  }

  private async pass(): Promise<void> {
    try {
      const result = await this.shipper.shipPending();
      this.shipped += result.shipped;
      this.last = this.last?.halted ? { ...result, halted: true } : result;
    } catch (error) {
      this.failure ??= { error };
    }
  }
}

function refKey(ref: EntryRef): string {
  return `${ref.pk}\u0000${ref.sk}`;
}

/**
 * Runs the sealer locally: woken after every commit (`wake`) and on an interval as a fallback. In AWS the
 * table's stream triggers the sealer Lambda instead, with the periodic sweep as the fallback.
 */
export class SealerLoop {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private current: Promise<unknown> | null = null;

  constructor(
    private readonly sealer: Sealer,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.intervalMs);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    const run = this.sealer.run().catch((error: unknown) => {
      this.logger.error({ err: error }, 'audit sealing failed; will retry');
    });
    this.current = run;
  }

  /** Resolves when the run in progress (and any it scheduled) has finished, or after `timeoutMs`. */
  async idle(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.current && Date.now() < deadline) {
      const current = this.current;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        if (Number.isFinite(timeoutMs)) timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      });
      await Promise.race([current, timeout]);
      clearTimeout(timer);
      if (this.current === current && Date.now() < deadline) this.current = null;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.idle();
  }
}
