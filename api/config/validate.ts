/**
 * Config validation without the YAML parser: the Lambda functions read their config as JSON (infra stores it so
 * in SSM) and load the YAML parser only for YAML text (`api/lambda/runtime.ts`). `load.ts` re-exports these.
 */
import type { z } from 'zod';
import { type BreakglassConfig, configSchema } from './schema.js';

/** A configuration that cannot be used; `problems` lists every one of them by path. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Formats a zod issue path as `roles[1].approvalsRequired`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`).join('\n');
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return `${formatPath(issue.path)}: is required`;
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) {
    return '(root): must be a mapping of settings';
  }
  return `${formatPath(issue.path)}: ${issue.message}`;
}

/** Validates an already-parsed config object. Throws ConfigError listing every problem. */
export function parseConfig(raw: unknown, source = 'config'): BreakglassConfig {
  // reportInput tells a missing field (input undefined) apart from one of the wrong type.
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.flatMap((issue) => describeIssue(issue).split('\n')),
    );
  }
  return result.data;
}
