import { describe, expect, it } from 'vitest';
import { monotonicUlids, newUlid, randomFraction } from '../../api/ports/ids.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('ids (ULIDs from a pooled CSPRNG)', () => {
  it('mints well-formed, distinct ULIDs across several refills of the pool', () => {
    // 16 random bytes per id, 4096 per pool: 2,000 ids draw the pool about eight times.
    const ids = Array.from({ length: 2_000 }, () => newUlid());
    for (const id of ids) expect(id).toMatch(ULID);
    expect(new Set(ids).size).toBe(ids.length);
    // The random part is not the same pool bytes over again: the 80 random bits differ from id to id.
    expect(new Set(ids.map((id) => id.slice(10))).size).toBe(ids.length);
  });

  it('orders monotonic ULIDs in call order within the same millisecond', () => {
    const next = monotonicUlids();
    const ids = Array.from({ length: 500 }, () => next(1_800_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('draws fractions in [0, 1) that cover the whole range', () => {
    const values = Array.from({ length: 32 * 400 }, () => randomFraction());
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const buckets = new Array<number>(32).fill(0);
    for (const value of values) buckets[Math.floor(value * 32)]! += 1;
    // Each of the 32 Crockford characters is drawn; a stuck or short pool would leave most buckets empty.
    for (const count of buckets) expect(count).toBeGreaterThan(200);
  });
});
