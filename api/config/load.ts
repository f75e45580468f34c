import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { PACKAGE_ROOT } from '../package-root.js';
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

/** The example config shipped with the package; used by the local stack when BREAKGLASS_CONFIG is unset. */
export const exampleConfigPath = join(PACKAGE_ROOT, 'breakglass.example.yaml');

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

/** Parses YAML text and validates it. Throws ConfigError with YAML syntax errors (line:column) or schema problems. */
export function parseConfigText(text: string, source = 'config'): BreakglassConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, lineCounter });
  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      document.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return `line ${line}, column ${col}: ${error.message.split('\n')[0]}`;
      }),
    );
  }
  return parseConfig(document.toJS(), source);
}

/** Reads and validates a config file. */
export function loadConfigFile(path: string): BreakglassConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [
      `cannot read file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    ]);
  }
  return parseConfigText(text, path);
}
