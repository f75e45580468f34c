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

/** Counters in a Map; windows older than the current one are dropped as they are passed. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly counts = new Map<string, { start: number; count: number }>();

  async hit(key: string, windowSeconds: number, now: Date): Promise<number> {
    const start = windowStart(windowSeconds, now);
    const entry = this.counts.get(key);
    const count = entry && entry.start === start ? entry.count + 1 : 1;
    this.counts.set(key, { start, count });
    if (this.counts.size > 100_000) this.prune(start);
    return count;
  }

  async peek(key: string, windowSeconds: number, now: Date): Promise<number> {
    const entry = this.counts.get(key);
    return entry && entry.start === windowStart(windowSeconds, now) ? entry.count : 0;
  }

  private prune(current: number): void {
    for (const [key, entry] of this.counts) if (entry.start < current) this.counts.delete(key);
  }
}
