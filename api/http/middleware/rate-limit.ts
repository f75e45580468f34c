/**
 * Rate limits as Hono middleware (docs/operations.md#rate-limits). Fixed windows counted by a RateLimiter port:
 * per client address before authentication (login, callback, Slack, refused tokens), per principal after it,
 * and a much tighter budget for a principal's refused (4xx) calls. Past a limit the answer is 429 problem+json
 * with Retry-After, and the refusals are recorded as one `access.throttled` event per principal and window,
 * carrying the count, instead of one `access.forbidden` per call: a flood cannot bloat the audit trail.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { LimitsConfig } from '../../config/schema.js';
import { actorOf, type Caller } from '../../domain/types.js';
import type { Logger } from '../../ports/logger.js';
import type { ThrottleReports } from '../../ports/rate-limiter.js';
import { type RateLimiter, windowStart } from '../../ports/rate-limiter.js';
import type { RequestService } from '../../services/request-service.js';
import { reportClosedWindows } from '../../services/throttle-reporting.js';
import type { AppEnv } from '../env.js';
import { problem } from '../problem.js';
import { clientIp } from './authenticate.js';

/** People remembered as throttled in their current window, at most (a bound on memory, not on correctness). */
const MAX_REMEMBERED_THROTTLED = 10_000;

export interface RateLimitDeps {
  limits: LimitsConfig;
  limiter: RateLimiter;
  requests: Pick<RequestService, 'record'>;
  /** Where a throttled window's owed report is kept until its event is written (durable in DynamoDB). */
  reports: ThrottleReports;
  logger: Logger;
  now?: () => Date;
}

export interface RateLimits {
  /** Per address, for routes anyone can call (login, callback, Slack before its signature check). */
  perIp: MiddlewareHandler<AppEnv>;
  /** Per address, counting only calls refused as unauthenticated (401) on token-authenticated routes. */
  refusedTokens: MiddlewareHandler<AppEnv>;
  /** Per principal, after authentication: all calls, and refused (4xx) calls much tighter. */
  perPrincipal: MiddlewareHandler<AppEnv>;
  /**
   * Writes the `access.throttled` events of windows that have closed (tests, shutdown). Windows still open stay
   * owed in the table; the sweeper reports them once they close.
   */
  flush(): Promise<void>;
}

export function rateLimits(deps: RateLimitDeps): RateLimits {
  const { limits, limiter, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const window = limits.windowSeconds;
  const timers = new Set<NodeJS.Timeout>();
  const reporting = { reports: deps.reports, limiter, requests: deps.requests, logger, now };
  const reportClosed = () =>
    reportClosedWindows(reporting).catch((error: unknown) =>
      logger.warn({ err: (error as Error).message }, 'throttle reports not written yet; the sweeper retries'),
    );

  /** Counting must never take the API down with it: a failing counter lets the call through. */
  async function count(op: 'hit' | 'peek', key: string, at: Date): Promise<number> {
    try {
      return await limiter[op](key, window, at);
    } catch (error) {
      logger.warn({ err: (error as Error).message, key }, 'rate limit counter unavailable; not limiting');
      return 0;
    }
  }

  /**
   * The people this process has throttled, and the window and limit it was. A window's counts only grow, so every
   * later call of theirs in that window would be refused by the same limit: it is answered without counting again
   * (with counters in DynamoDB, two round trips fewer per throttled call). Exact per process; bounded.
   */
  const throttledIn = new Map<string, { window: number; key: string; kind: string; limit: number }>();
  function rememberThrottled(subject: string, key: string, kind: string, limit: number, at: Date) {
    const current = windowStart(window, at);
    if (throttledIn.size >= MAX_REMEMBERED_THROTTLED) {
      for (const [name, entry] of throttledIn) if (entry.window < current) throttledIn.delete(name);
      if (throttledIn.size >= MAX_REMEMBERED_THROTTLED) throttledIn.clear();
    }
    throttledIn.set(subject, { window: current, key, kind, limit });
  }

  function retryAfter(at: Date): number {
    return Math.max(1, Math.ceil((windowStart(window, at) + window * 1000 - at.getTime()) / 1000));
  }

  async function throttle(c: Context, key: string, kind: string, limit: number, caller?: Caller) {
    const at = now();
    const throttled = await count('hit', `t:${key}`, at);
    if (caller && throttled === 1) await openReport(key, kind, limit, caller, at);
    return problem(c, 'rate_limited', `too many ${kind} calls; retry after the window`, {
      retryAfterSeconds: retryAfter(at),
    });
  }

  /**
   * The first throttled call of a window stores that the window owes a report before it is answered, so no stop,
   * crash or frozen Lambda loses it; the report itself (with the count) is written once the window has closed.
   */
  async function openReport(key: string, kind: string, limit: number, caller: Caller, at: Date) {
    const start = windowStart(window, at);
    try {
      await deps.reports.open({
        key,
        kind,
        limit,
        windowStart: start,
        windowSeconds: window,
        actor: actorOf(caller),
      });
    } catch (error) {
      logger.error({ err: (error as Error).message, subject: caller.subject }, 'throttle report not opened');
      return;
    }
    // A long-lived server writes it promptly after the window; the sweeper covers everything else.
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        void reportClosed();
      },
      start + window * 1000 - at.getTime() + 50,
    );
    timer.unref();
    timers.add(timer);
  }

  return {
    perIp: async (c, next) => {
      const ip = clientIp(c) ?? 'unknown';
      if ((await count('hit', `ip:${ip}`, now())) > limits.perIp) {
        return throttle(c, `ip:${ip}`, 'unauthenticated', limits.perIp);
      }
      await next();
      return undefined;
    },
    refusedTokens: async (c, next) => {
      const ip = clientIp(c) ?? 'unknown';
      if ((await count('peek', `ipr:${ip}`, now())) >= limits.perIp) {
        return throttle(c, `ipr:${ip}`, 'unauthenticated', limits.perIp);
      }
      await next();
      if (c.res.status === 401) await count('hit', `ipr:${ip}`, now());
      return undefined;
    },
    perPrincipal: async (c, next) => {
      const caller = c.get('caller') as Caller | undefined;
      if (!caller) return next();
      const at = now();
      const known = throttledIn.get(caller.subject);
      if (known && known.window === windowStart(window, at)) {
        return throttle(c, known.key, known.kind, known.limit, caller);
      }
      const key = `p:${caller.subject}`;
      const refusedKey = `r:${caller.subject}`;
      // Side by side: with counters in DynamoDB these are two round trips every call waits for, and the read
      // needs nothing from the write (the call is counted whichever limit then refuses it).
      const [calls, refused] = await Promise.all([count('hit', key, at), count('peek', refusedKey, at)]);
      if (calls > limits.perPrincipal) {
        rememberThrottled(caller.subject, key, 'authenticated', limits.perPrincipal, at);
        return throttle(c, key, 'authenticated', limits.perPrincipal, caller);
      }
      if (refused >= limits.refusedPerPrincipal) {
        rememberThrottled(caller.subject, refusedKey, 'refused', limits.refusedPerPrincipal, at);
        return throttle(c, refusedKey, 'refused', limits.refusedPerPrincipal, caller);
      }
      await next();
      const status = c.res.status;
      if (status >= 400 && status < 500 && status !== 429) await count('hit', refusedKey, now());
      return undefined;
    },
    flush: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await reportClosed();
    },
  };
}
