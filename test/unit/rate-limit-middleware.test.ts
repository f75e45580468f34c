import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../api/adapters/memory/rate-limiter.js';
import type { LimitsConfig } from '../../api/config/schema.js';
import type { Caller } from '../../api/domain/types.js';
import type { AppEnv } from '../../api/http/env.js';
import { rateLimits } from '../../api/http/middleware/rate-limit.js';
import { silentLogger } from '../../api/ports/logger.js';
import type { RateLimiter } from '../../api/ports/rate-limiter.js';
import { MemoryThrottleReports } from '../../api/services/throttle-reporting.js';

const LIMITS: LimitsConfig = {
  windowSeconds: 60,
  perPrincipal: 100,
  refusedPerPrincipal: 2,
  perIp: 10,
  store: 'memory',
};

const alice: Caller = { subject: 'alice', email: 'alice@example.com', groups: [], mfa: true, via: 'api' };

/**
 * A limiter whose calls are answered only once `width` of them are waiting (or after `patienceMs`), recording
 * the most calls that were ever waiting at once: calls made one after the other show a width of 1.
 */
class GatedLimiter implements RateLimiter {
  readonly inner = new MemoryRateLimiter();
  widest = 0;
  private waiting: Array<() => void> = [];

  constructor(
    private readonly width: number,
    private readonly patienceMs = 200,
  ) {}

  hit(key: string, windowSeconds: number, now: Date) {
    return this.gate(() => this.inner.hit(key, windowSeconds, now));
  }

  peek(key: string, windowSeconds: number, now: Date) {
    return this.gate(() => this.inner.peek(key, windowSeconds, now));
  }

  private async gate(call: () => Promise<number>): Promise<number> {
    await new Promise<void>((release) => {
      this.waiting.push(release);
      this.widest = Math.max(this.widest, this.waiting.length);
      if (this.waiting.length >= this.width) this.releaseAll();
      else setTimeout(() => this.releaseAll(), this.patienceMs);
    });
    return call();
  }

  private releaseAll() {
    for (const release of this.waiting.splice(0)) release();
  }
}

function appWith(limiter: RateLimiter, now?: () => Date) {
  const app = new Hono<AppEnv>();
  const limits = rateLimits({
    limits: LIMITS,
    limiter,
    requests: { record: async () => [] as never },
    reports: new MemoryThrottleReports(),
    logger: silentLogger,
    ...(now ? { now } : {}),
  });
  app.use('*', async (c, next) => {
    c.set('requestId', 'r_test');
    c.set('caller', alice);
    await next();
  });
  app.use('*', limits.perPrincipal);
  app.get('/ok', (c) => c.json({ ok: true }));
  app.get('/refused', (c) => c.json({ code: 'forbidden' }, 403));
  return { app, limits };
}

describe('rate limits per person', () => {
  it('reads both of a person’s counters side by side, not one after the other (one round trip with DynamoDB)', async () => {
    const limiter = new GatedLimiter(2);
    const { app } = appWith(limiter);
    const response = await app.request('/ok');
    expect(response.status).toBe(200);
    expect(limiter.widest).toBe(2);
  });

  it('still refuses on either counter: the call budget, then the refused-call budget', async () => {
    const limiter = new MemoryRateLimiter();
    const { app, limits } = appWith(limiter);
    expect((await app.request('/refused')).status).toBe(403);
    expect((await app.request('/refused')).status).toBe(403);
    const throttled = await app.request('/ok');
    expect(throttled.status).toBe(429);
    expect(await throttled.json()).toMatchObject({ code: 'rate_limited' });
    const at = new Date();
    // Every call was counted, the throttled one too; the refused counter counts the two 403s only.
    expect(await limiter.peek('p:alice', LIMITS.windowSeconds, at)).toBe(3);
    expect(await limiter.peek('r:alice', LIMITS.windowSeconds, at)).toBe(2);
    await limits.flush();
  });

  it('a person throttled in this window is answered without reading their counters again, until the next window', async () => {
    const limiter = new MemoryRateLimiter();
    const keys: string[] = [];
    const spy: RateLimiter = {
      hit: (key, seconds, at) => {
        keys.push(`hit ${key}`);
        return limiter.hit(key, seconds, at);
      },
      peek: (key, seconds, at) => {
        keys.push(`peek ${key}`);
        return limiter.peek(key, seconds, at);
      },
    };
    let clock = new Date('2026-11-29T10:00:05Z');
    const { app, limits } = appWith(spy, () => clock);
    await app.request('/refused');
    await app.request('/refused');
    expect((await app.request('/ok')).status).toBe(429);
    keys.length = 0;
    for (let i = 0; i < 3; i++) expect((await app.request('/ok')).status).toBe(429);
    // Only the throttled-call count the window's report carries; no per-person counter was read.
    expect(keys).toEqual(['hit t:r:alice', 'hit t:r:alice', 'hit t:r:alice']);
    expect(await limiter.peek('t:r:alice', LIMITS.windowSeconds, clock)).toBe(4);

    clock = new Date('2026-11-29T10:01:05Z');
    keys.length = 0;
    expect((await app.request('/ok')).status).toBe(200);
    expect(keys.sort()).toEqual(['hit p:alice', 'peek r:alice']);
    await limits.flush();
  });
});
