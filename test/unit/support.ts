/** Shared fixtures for the unit tests: the example config, demo callers and a frozen clock. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { exampleConfigPath, parseConfig } from '../../api/config/load.js';
import type { BreakglassConfig } from '../../api/config/schema.js';
import { DomainError } from '../../api/domain/errors.js';
import type { Caller } from '../../api/domain/types.js';

const exampleRaw = parse(readFileSync(exampleConfigPath, 'utf8')) as unknown;

// biome-ignore lint/suspicious/noExplicitAny: tests edit the raw YAML tree freely before validation
export type RawConfig = any;

/** The example config, optionally edited as raw YAML first, then validated like a real file. */
export function configWith(mutate?: (raw: RawConfig) => void): BreakglassConfig {
  const raw = structuredClone(exampleRaw) as RawConfig;
  mutate?.(raw);
  return parseConfig(raw, 'test config');
}

export const NOW = new Date('2026-11-22T10:00:00.000Z');

/** The frozen clock moved by whole minutes. */
export const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);
export const isoAt = (minutes: number) => at(minutes).toISOString();

export function person(name: string, groups: string[], extra: Partial<Caller> = {}): Caller {
  return { subject: `sub-${name}`, email: `${name}@example.com`, groups, mfa: true, via: 'cli', ...extra };
}

export const alice = person('alice', ['sre']);
export const bob = person('bob', ['sre-leads']);
export const dave = person('dave', ['sre-leads']);
export const frank = person('frank', ['sre-leads']);
export const carol = person('carol', ['security']);
export const pat = person('pat', ['platform-admins']);
export const erin = person('erin', []);

/** The error code `fn` throws, or `'none'`; anything that is not a DomainError is rethrown. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  return 'none';
}
