/**
 * Writes the `access.throttled` events of windows that have closed: one per principal key and window, with the
 * count of refused calls the limiter kept. Run by the sweeper (every minute, also in Lambda), nudged by a timer
 * at the window's end in a long-lived server, and once more when the server stops.
 */
import type { Logger } from '../ports/logger.js';
import type { RateLimiter, ThrottleReport, ThrottleReports } from '../ports/rate-limiter.js';
import { ConcurrentUpdateError } from '../ports/store.js';
import type { RequestService } from './request-service.js';

export interface ThrottleReportingDeps {
  reports: ThrottleReports;
  limiter: RateLimiter;
  requests: Pick<RequestService, 'record'>;
  logger: Logger;
  now?: () => Date;
}

/** Reports every closed window still owed; resolves to how many events it wrote. */
export async function reportClosedWindows(deps: ThrottleReportingDeps): Promise<number> {
  const now = deps.now?.() ?? new Date();
  let written = 0;
  for (;;) {
    const due = await deps.reports.due(now, 50);
    for (const report of due) if (await reportOne(deps, report)) written += 1;
    if (due.length < 50) return written;
  }
}

async function reportOne(deps: ThrottleReportingDeps, report: ThrottleReport & { id: string }) {
  let count = 0;
  try {
    count = await deps.limiter.peek(`t:${report.key}`, report.windowSeconds, new Date(report.windowStart));
  } catch (error) {
    deps.logger.warn(
      { err: (error as Error).message },
      'throttled count unavailable; reporting at least one',
    );
  }
  try {
    await deps.requests.record([
      {
        type: 'access.throttled',
        actor: report.actor,
        data: {
          kind: report.kind,
          limit: report.limit,
          // An in-memory counter does not survive a restart: the window had at least its first refusal.
          count: Math.max(1, count),
          windowStart: new Date(report.windowStart).toISOString(),
          windowSeconds: report.windowSeconds,
          report: report.id,
        },
      },
    ]);
    return true;
  } catch (error) {
    // The marker went with another writer's commit: that one reported this window.
    if (error instanceof ConcurrentUpdateError) return false;
    deps.logger.error(
      { err: (error as Error).message, report: report.id },
      'access.throttled not recorded yet',
    );
    return false;
  }
}

/** ThrottleReports in a Map, for apps built without a table (unit tests). */
export class MemoryThrottleReports implements ThrottleReports {
  private readonly open_ = new Map<string, ThrottleReport>();

  async open(report: ThrottleReport): Promise<void> {
    const id = `${report.windowStart + report.windowSeconds * 1000}#${report.key}`;
    if (!this.open_.has(id)) this.open_.set(id, report);
  }

  async due(now: Date, limit: number): Promise<Array<ThrottleReport & { id: string }>> {
    const due: Array<ThrottleReport & { id: string }> = [];
    for (const [id, report] of this.open_) {
      if (report.windowStart + report.windowSeconds * 1000 > now.getTime() || due.length >= limit) continue;
      // Taken as it is handed out: without a transaction to consume it, this keeps the report single.
      this.open_.delete(id);
      due.push({ ...report, id });
    }
    return due;
  }
}
