import type { Actor } from '../domain/types.js';
/**
 * The counting port behind the HTTP rate limits: fixed windows, one counter per key and window. The DynamoDB
 * implementation holds the limit across Lambda instances; the in-memory one counts per process (local stack,
 * tests, single-instance deployments).
 */

export interface RateLimiter {
  /** Adds one call to `key` in the window containing `now`; resolves to the count including this call. */
  hit(key: string, windowSeconds: number, now: Date): Promise<number>;
  /** The count of `key` in the window containing `now`, without adding to it. */
  peek(key: string, windowSeconds: number, now: Date): Promise<number>;
}

/** Start of the fixed window containing `now`, in milliseconds. */
export function windowStart(windowSeconds: number, now: Date): number {
  const ms = windowSeconds * 1000;
  return Math.floor(now.getTime() / ms) * ms;
}

/** A window in which a principal was throttled, owed one `access.throttled` event once the window closes. */
export interface ThrottleReport {
  /** The limiter key (`p:<subject>`, `r:<subject>`). */
  key: string;
  kind: string;
  limit: number;
  windowStart: number;
  windowSeconds: number;
  actor: Actor;
}

/**
 * Durable "this window owes a report" markers: opened on the first throttled call of a window (before the 429 is
 * sent) and consumed by the very commit of the `access.throttled` event (`data.report`), so a stop, a crash or
 * a frozen Lambda loses no report and none is written twice.
 */
export interface ThrottleReports {
  /** Records that `report`'s window owes an event; idempotent. */
  open(report: ThrottleReport): Promise<void>;
  /** Reports whose window closed before `now`, with the id their event must carry as `data.report`. */
  due(now: Date, limit: number): Promise<Array<ThrottleReport & { id: string }>>;
}
