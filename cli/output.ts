/** Human output: aligned tables and a little colour, off for NO_COLOR, non-TTYs and `--json`. */
import type { CliContext, Output } from './context.js';

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
}

const plain = (text: string) => text;
export const PLAIN_STYLE: Style = { bold: plain, dim: plain, green: plain, yellow: plain, red: plain };
const PLAIN = PLAIN_STYLE;

const ansi = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const COLOUR: Style = {
  bold: ansi(1, 22),
  dim: ansi(2, 22),
  green: ansi(32, 39),
  yellow: ansi(33, 39),
  red: ansi(31, 39),
};

/** https://no-color.org: any non-empty NO_COLOR turns colour off; FORCE_COLOR turns it on. */
export function styleFor(ctx: CliContext, stream: Output = ctx.stdout): Style {
  if (ctx.env.NO_COLOR) return PLAIN;
  if (ctx.env.FORCE_COLOR && ctx.env.FORCE_COLOR !== '0') return COLOUR;
  return stream.isTTY && ctx.env.TERM !== 'dumb' ? COLOUR : PLAIN;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips the escapes this module adds
const ANSI_PATTERN = /\u001b\[\d+m/g;
const visibleLength = (text: string) => text.replace(ANSI_PATTERN, '').length;

/** Left-aligned columns separated by two spaces; the header is bold when colour is on. */
export function table(style: Style, headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(visibleLength(header), ...rows.map((row) => visibleLength(row[i] ?? ''))),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  return [style.bold(line(headers)), ...rows.map(line)].join('\n') + '\n';
}

export function statusText(style: Style, status: string): string {
  switch (status) {
    case 'active':
    case 'approved':
      return style.green(status);
    case 'pending':
      return style.yellow(status);
    case 'denied':
    case 'revoked':
    case 'failed':
    case 'timed_out':
      return style.red(status);
    default:
      return status;
  }
}

export function writeJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `2026-11-22T10:00:00.000Z` → `2026-11-22 10:00Z`: short, unambiguous, UTC. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z');
}

/** How long until (or since) a time, e.g. `in 42m`, `3h ago`. */
export function relative(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  const delta = Date.parse(iso) - now;
  const minutes = Math.round(Math.abs(delta) / 60_000);
  // Never "in 0m": under half a minute away is "now", either side.
  if (minutes === 0) return delta >= 0 ? 'in under a minute' : 'just now';
  const text =
    minutes < 60 ? `${minutes}m` : `${Math.floor(minutes / 60)}h${minutes % 60 ? `${minutes % 60}m` : ''}`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}
