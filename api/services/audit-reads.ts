/**
 * Who read the audit trail: every export, report, verify and event-browser page by a person becomes an
 * `audit.read` event (who,
 * what, which range and format, the result). A reviewer who exports ten times in a minute should not add ten
 * events, so reads are aggregated per principal and kind in fixed windows:
 *
 * - the first read of a window commits its `audit.read` before the response starts (nothing to lose on a stop:
 *   it is already in the trail);
 * - later reads of the window are only counted (the rate limiter's counter: a DynamoDB item in AWS);
 * - when the window had repeats, one more `audit.read` with `repeats` and the window's total count is committed
 *   by whichever comes first: the window's end (a timer), the same person's next read of that kind (which sees
 *   the closed window's counter), or `flush()` on shutdown. A marker claimed before writing makes that summary
 *   exactly-once across instances.
 */
import { actorOf, type Caller } from '../domain/types.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { MarkerStore } from '../ports/markers.js';
import { type RateLimiter, windowStart } from '../ports/rate-limiter.js';
import type { RequestService } from './request-service.js';

/** `browse`: a page of the event browser on /audit (the web's read of the trail). */
export type AuditReadKind = 'export' | 'report' | 'verify' | 'browse';

export interface AuditRead {
  kind: AuditReadKind;
  /** `jsonl`, `csv`, `ocsf` for exports, `html` for the report and the event browser, `json` for verify. */
  format: string;
  since?: string | undefined;
  until?: string | undefined;
  /** The event browser's other filters (role, person, request, type, page), when any were set. */
  filter?: Record<string, string> | undefined;
  /** What the reader got: `streamed` (export started), a verification status, `ok` / `failed`, events shown. */
  result: string;
}

export interface AuditReadsDeps {
  limiter: RateLimiter;
  markers: MarkerStore;
  requests: Pick<RequestService, 'record'>;
  clock: Clock;
  logger: Logger;
  windowSeconds?: number;
}

export const AUDIT_READ_WINDOW_SECONDS = 300;

export class AuditReads {
  private readonly window: number;
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; run: () => Promise<void> }>();
  /** Windows this instance already summarised (or saw summarised), to spare the marker round trip. */
  private readonly summarized = new Set<string>();

  constructor(private readonly deps: AuditReadsDeps) {
    this.window = deps.windowSeconds ?? AUDIT_READ_WINDOW_SECONDS;
  }

  /** Records one read by a person: commits at once when it opens a window, else counts it. */
  async record(caller: Caller, read: AuditRead): Promise<void> {
    const now = this.deps.clock.now();
    const key = `audit-read:${caller.subject}:${read.kind}`;
    const start = windowStart(this.window, now);
    // The previous window may have had repeats whose summary no timer wrote (another instance, a frozen
    // Lambda): this read sees its counter and writes it. Read before counting this call, since a counter that
    // keeps one window per key forgets the previous one on the first hit of the next.
    await this.summarize(caller, read, key, start - this.window * 1000);
    const count = await this.deps.limiter.hit(key, this.window, now);
    if (count > 1) {
      this.scheduleSummary(caller, read, key, start);
      return;
    }
    await this.deps.requests.record([
      {
        type: 'audit.read',
        actor: actorOf(caller),
        data: {
          kind: read.kind,
          format: read.format,
          since: read.since ?? null,
          until: read.until ?? null,
          ...(read.filter && Object.keys(read.filter).length > 0 ? { filter: read.filter } : {}),
          result: read.result,
          count: 1,
          windowStart: new Date(start).toISOString(),
          windowSeconds: this.window,
        },
      },
    ]);
  }

  /** Writes the summaries of windows still open (shutdown, tests). */
  async flush(): Promise<void> {
    const pending = [...this.pending.values()];
    for (const entry of pending) clearTimeout(entry.timer);
    await Promise.all(pending.map((entry) => entry.run()));
  }

  private scheduleSummary(caller: Caller, read: AuditRead, key: string, start: number): void {
    const id = `${key}#${start}`;
    if (this.pending.has(id)) return;
    const run = async () => {
      this.pending.delete(id);
      try {
        await this.summarize(caller, read, key, start);
      } catch (error) {
        this.deps.logger.error(
          { err: (error as Error).message, subject: caller.subject },
          'audit.read summary not recorded; the next read of this kind retries it',
        );
      }
    };
    const due = start + this.window * 1000 - this.deps.clock.now().getTime() + 50;
    const timer = setTimeout(run, Math.max(0, due));
    timer.unref();
    this.pending.set(id, { timer, run });
  }

  /** One `audit.read` with the repeats of the window at `start`, if it had any and nobody wrote it yet. */
  private async summarize(caller: Caller, read: AuditRead, key: string, start: number): Promise<void> {
    const id = `${key}#${start}`;
    if (this.summarized.has(id)) return;
    const count = await this.deps.limiter.peek(key, this.window, new Date(start));
    if (count <= 1) return;
    const claimed = await this.deps.markers.claim('audit-read-summary', id, this.window * 4, {
      count: String(count),
    });
    if (this.summarized.size > 10_000) this.summarized.clear();
    this.summarized.add(id);
    if (!claimed) return;
    await this.deps.requests.record([
      {
        type: 'audit.read',
        actor: actorOf(caller),
        data: {
          kind: read.kind,
          summary: true,
          count,
          repeats: count - 1,
          windowStart: new Date(start).toISOString(),
          windowSeconds: this.window,
        },
      },
    ]);
  }
}
