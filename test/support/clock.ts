import type { Clock } from '../../api/ports/clock.js';

/**
 * A clock the test moves by hand. It starts at the real time because the development provider signs tokens
 * with real `iat`/`exp`; moving it forward is how tests reach due transitions and token expiry.
 */
export class MutableClock implements Clock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advanceMinutes(minutes: number): void {
    this.offsetMs += minutes * 60_000;
  }

  /** Back to the real time (tokens minted by the provider are valid again). */
  reset(): void {
    this.offsetMs = 0;
  }
}
