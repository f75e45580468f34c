/** The YAML side of config reading, imported dynamically by runtime.ts only when the config text is YAML. */
import { parseDocument } from 'yaml';
import { ConfigError } from '../config/validate.js';

/** Parses YAML config text into plain data; syntax errors become a ConfigError. */
export function yamlConfigDocument(text: string, source: string): unknown {
  const document = parseDocument(text, { prettyErrors: false });
  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      document.errors.map((error) => `yaml: ${error.message.split('\n')[0]}`),
    );
  }
  return document.toJS() as unknown;
}
