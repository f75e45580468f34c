import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { PACKAGE_ROOT } from '../package-root.js';
import type { BreakglassConfig } from './schema.js';
import { ConfigError, parseConfig } from './validate.js';

export { ConfigError, formatPath, parseConfig } from './validate.js';

/** The example config shipped with the package; used by the local stack when BREAKGLASS_CONFIG is unset. */
export const exampleConfigPath = join(PACKAGE_ROOT, 'breakglass.example.yaml');

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
