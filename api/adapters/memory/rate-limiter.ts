import { type RateLimiter, windowStart } from '../../ports/rate-limiter.js';

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
