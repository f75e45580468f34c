/** Time, injected so tests and the sweeper's catch-up logic can control it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
