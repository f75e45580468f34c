import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMinutes, parseDurationMinutes } from '../../api/domain/duration.js';

describe('parseDurationMinutes', () => {
  it.each([
    ['90m', 90],
    ['4h', 240],
    ['1h30m', 90],
    ['2d', 2880],
    ['1d2h3m', 1563],
    ['120s', 2],
    ['1h60s', 61],
    ['  45m  ', 45],
    // 0m parses; refusing non-positive durations is the schema's job (see config.test.ts).
    ['0m', 0],
  ])('%s → %i minutes', (text, minutes) => {
    expect(parseDurationMinutes(text)).toBe(minutes);
  });

  it.each(['abc', '', '4', '4x', '1.5h', '-1h', '30s', '90 m', 'h', '1h 30m', '4H'])('refuses %j', (text) => {
    expect(parseDurationMinutes(text)).toBeNull();
  });
});

describe('formatMinutes', () => {
  it.each([
    [90, '1h30m'],
    [240, '4h'],
    [45, '45m'],
    [1440, '1d'],
    [1563, '1d2h3m'],
    [0, '0m'],
    [-5, '0m'],
  ])('%i → %s', (minutes, text) => {
    expect(formatMinutes(minutes)).toBe(text);
  });

  it('round-trips through parseDurationMinutes for every positive whole minute', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 * 24 * 400 }), (minutes) => {
        expect(parseDurationMinutes(formatMinutes(minutes))).toBe(minutes);
      }),
    );
  });
});
