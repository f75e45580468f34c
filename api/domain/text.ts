/**
 * One rule for every free-text field a person types (reasons, tickets, comments), whichever channel it came
 * through: well-formed Unicode, no control characters (line breaks and tabs only where the field is multi-line),
 * and no invisible formatting characters. Bidi overrides (`update \u202Etxt.exe\u202C now` reads as
 * "update exe.txt now") and zero-width characters are refused rather than shown: an approver must see exactly
 * what the requester wrote, and an export must not change meaning in another viewer.
 */
import { DomainError } from './errors.js';

export type TextKind = 'line' | 'multiline';

/** Bidi embeddings, overrides and isolates, marks, and zero-width / invisible formatting characters. */
const FORMATTING =
  /[\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_MULTILINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/u;

/** True when every surrogate is paired (what `String.prototype.isWellFormed` checks on newer runtimes). */
export function isWellFormed(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** Replaces lone surrogates with U+FFFD, so that encoding and hashing cannot throw. */
export function toWellFormed(value: string): string {
  if (isWellFormed(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += value[i] + (value[i + 1] ?? '');
        i++;
        continue;
      }
      out += '\ufffd';
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      out += '\ufffd';
    } else {
      out += value[i];
    }
  }
  return out;
}

/** Why a text breaks the rule, or null when it is fine. */
export function textProblem(value: string, kind: TextKind = 'multiline'): string | null {
  if (!isWellFormed(value)) return 'is not well-formed Unicode (lone surrogate)';
  if ((kind === 'line' ? CONTROL_LINE : CONTROL_MULTILINE).test(value))
    return kind === 'line' ? 'contains control characters or line breaks' : 'contains control characters';
  if (FORMATTING.test(value)) return 'contains invisible formatting characters (bidi controls or zero-width)';
  return null;
}

/** Throws `invalid_text` naming the field when the text breaks the rule. */
export function checkText(field: string, value: string, kind: TextKind = 'multiline'): string {
  const problem = textProblem(value, kind);
  if (problem) throw new DomainError('invalid_text', `${field} ${problem}`, { field });
  return value;
}

/** encodeURIComponent that never throws: lone surrogates (from data stored before the rule) become U+FFFD. */
export function encodeLinkComponent(value: string): string {
  return encodeURIComponent(toWellFormed(value));
}
