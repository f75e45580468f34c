/** No request or grant lasts longer than this: the API refuses longer ones and config may not allow them. */
export const MAX_REQUEST_MINUTES = 7 * 24 * 60;

/** Parses durations such as `90m`, `4h`, `1h30m`, `2d` into whole minutes. Returns null when unparsable. */
export function parseDurationMinutes(text: string): number | null {
  const trimmed = text.trim();
  if (!/^(\d+[dhms])+$/.test(trimmed)) return null;
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)([dhms])/g)) {
    seconds += Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  }
  if (seconds % 60 !== 0) return null;
  return seconds / 60;
}

const UNIT_SECONDS = { d: 86_400, h: 3600, m: 60, s: 1 } as const;

/** Formats whole minutes the way people write them: `90` → `1h30m`. */
export function formatMinutes(minutes: number): string {
  if (minutes <= 0) return '0m';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  return `${days ? `${days}d` : ''}${hours ? `${hours}h` : ''}${mins ? `${mins}m` : ''}`;
}
