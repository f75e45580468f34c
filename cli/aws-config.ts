/**
 * Editing ~/.aws/config without disturbing it: the named `[profile …]` block gets our keys, every other byte of
 * the file (other profiles, comments, blank lines, line endings) stays as it was.
 */

/** The header line of a profile section (`[default]` is the only one without the `profile ` prefix). */
function headerPattern(name: string): RegExp {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const body = name === 'default' ? `(?:profile\\s+)?default` : `profile\\s+${escaped}`;
  return new RegExp(`^\\s*\\[\\s*${body}\\s*\\]\\s*(?:[#;].*)?$`);
}

const SECTION = /^\s*\[/;
const KEY = /^\s*([A-Za-z0-9_.-]+)\s*=/;

/**
 * Returns the config text with profile `name` holding `settings` (added or replaced in place); keys of that
 * profile not in `settings` are kept.
 */
export function upsertProfile(text: string, name: string, settings: Record<string, string>): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  // split leaves one empty string after a trailing newline; remember it so the ending is preserved.
  const trailingNewline = text.length > 0 && /\r?\n$/.test(text);
  if (trailingNewline) lines.pop();

  const header = headerPattern(name);
  const start = lines.findIndex((line) => header.test(line));
  const render = (key: string) => `${key} = ${settings[key]}`;

  if (start === -1) {
    const block = [
      `[${name === 'default' ? 'default' : `profile ${name}`}]`,
      ...Object.keys(settings).map(render),
    ];
    const prefix = lines.length === 0 || (lines.length === 1 && lines[0] === '') ? [] : [...lines];
    if (prefix.length > 0 && prefix[prefix.length - 1]!.trim() !== '') prefix.push('');
    return [...prefix, ...block].join(eol) + eol;
  }

  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (SECTION.test(lines[i]!)) {
      end = i;
      break;
    }
  }
  const remaining = new Set(Object.keys(settings));
  let lastKey = start;
  for (let i = start + 1; i < end; i++) {
    const key = KEY.exec(lines[i]!)?.[1];
    if (!key) continue;
    lastKey = i;
    if (remaining.has(key)) {
      lines[i] = render(key);
      remaining.delete(key);
    }
  }
  lines.splice(lastKey + 1, 0, ...[...remaining].map(render));
  return lines.join(eol) + (trailingNewline ? eol : '');
}

/** Quotes a word for credential_process, which the AWS CLI and SDKs split like a shell would. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\$`])/g, '\\$1')}"`;
}
