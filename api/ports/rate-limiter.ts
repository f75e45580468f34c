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
