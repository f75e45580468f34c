/**
 * ULIDs for the ids the broker mints (requests, journal events, HTTP request ids), with the random part drawn
 * from the platform CSPRNG through a pool. The `ulid` package's default source asks the CSPRNG for one byte per
 * character (16 `getRandomValues` calls per id, each with its own buffer and argument checks): about a third of
 * a millisecond per id on a busy machine, three ids per created request. The pool asks once per 4 KiB.
 */
import { monotonicFactory, type ULIDFactory, ulid } from 'ulid';

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let position = POOL_BYTES;

/** A uniform fraction in [0, 1) in steps of 1/256 (what the `ulid` package expects of its PRNG). */
export function randomFraction(): number {
  if (position >= POOL_BYTES) {
    globalThis.crypto.getRandomValues(pool);
    position = 0;
  }
  return pool[position++]! / 256;
}

/** A new ULID (time-ordered to the millisecond, 80 random bits). */
export function newUlid(): string {
  return ulid(undefined, randomFraction);
}

/** A generator of ULIDs that also sort in call order within the same millisecond (one per process). */
export function monotonicUlids(): ULIDFactory {
  return monotonicFactory(randomFraction);
}
