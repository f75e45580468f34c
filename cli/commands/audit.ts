/** `audit export` and `audit verify`. */
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { parseDurationMinutes } from '../../api/domain/duration.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT, usage } from '../errors.js';
import { writeJson } from '../output.js';
import { resolveServer } from '../state.js';
import { connect, type GlobalOptions } from './common.js';

export interface ExportOptions extends GlobalOptions {
  since?: string;
  until?: string;
  format?: string;
  out?: string;
}

const FORMATS = ['jsonl', 'csv', 'ocsf'];

/** `--since 24h` means 24 hours ago; otherwise an ISO 8601 time. */
export function timeFlag(text: string, flag: string, now: number): string {
  const minutes = parseDurationMinutes(text);
  if (minutes !== null) return new Date(now - minutes * 60_000).toISOString();
  const parsed = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(parsed)) {
    throw usage(`${flag} "${text}" is not a time`, 'use an ISO 8601 time or an age such as 24h or 7d');
  }
  return new Date(parsed).toISOString();
}

const TAIL_CHARS = 64 * 1024;

/** The event count from a JSONL export's end line, if the text ends with one. */
function endLineCount(tail: string): number | null {
  const last = tail.trimEnd().split('\n').at(-1);
  try {
    const parsed = JSON.parse(last ?? '') as { type?: unknown; count?: unknown };
    return parsed.type === 'export.end' && typeof parsed.count === 'number' ? parsed.count : null;
  } catch {
    return null;
  }
}

/** Streams the export to a file or stdout; on a terminal a progress line counts records. */
export async function auditExport(ctx: CliContext, options: ExportOptions): Promise<void> {
  const format = options.format ?? 'jsonl';
  if (!FORMATS.includes(format)) throw usage(`--format must be one of ${FORMATS.join(', ')}`);
  const query = new URLSearchParams({ format });
  if (options.since) query.set('since', timeFlag(options.since, '--since', ctx.now()));
  if (options.until) query.set('until', timeFlag(options.until, '--until', ctx.now()));
  const client = await connect(ctx, options);
  const response = await client.raw('GET', `/v1/audit/events?${query}`, { headers: { accept: '*/*' } });
  if (!response.body) throw new CliError('the server sent an empty export', EXIT.error);

  const file = options.out ? createWriteStream(options.out, { mode: 0o600 }) : null;
  const showProgress = Boolean(ctx.stderr.isTTY) && (file !== null || !ctx.stdout.isTTY);
  let records = 0;
  let bytes = 0;
  let lastProgress = 0;
  const decoder = new TextDecoder();
  const tailDecoder = new TextDecoder();
  let tail = '';
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      tail = (tail + tailDecoder.decode(chunk, { stream: true })).slice(-TAIL_CHARS);
      for (const byte of chunk) if (byte === 10) records += 1;
      if (file) {
        if (!file.write(chunk)) await new Promise<void>((resolve) => file.once('drain', () => resolve()));
      } else {
        ctx.stdout.write(decoder.decode(chunk, { stream: true }));
      }
      if (showProgress && ctx.now() - lastProgress > 100) {
        lastProgress = ctx.now();
        ctx.stderr.write(`\r\u001b[2Kexporting… ${records} records, ${Math.round(bytes / 1024)} KiB`);
      }
    }
    if (!file) ctx.stdout.write(decoder.decode());
  } finally {
    if (file)
      await new Promise<void>((resolve, reject) =>
        file.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
  }
  // A JSONL export ends with a line that counts its events; CSV has a header line; OCSF is one record a line.
  const count =
    format === 'jsonl'
      ? (endLineCount(tail) ?? records)
      : format === 'csv'
        ? Math.max(0, records - 1)
        : records;
  if (showProgress) ctx.stderr.write('\r\u001b[2K');
  if (!file) return;
  if (options.json) writeJson(ctx, { file: options.out, format, records: count, bytes });
  else
    ctx.stdout.write(
      `Exported ${count} ${format === 'jsonl' ? 'events' : 'records'} to ${options.out} (${format})\n`,
    );
}

export interface VerifyOptions extends GlobalOptions {
  keys?: string;
}

/** The audit keys from --keys, else the broker's published ones, to check signatures; null when unreachable. */
async function fetchAuditKeys(ctx: CliContext, options: VerifyOptions) {
  if (options.keys) {
    try {
      return JSON.parse(readFileSync(options.keys, 'utf8')) as { keys: never[] };
    } catch (error) {
      throw new CliError(
        `cannot read the keys file ${options.keys} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        EXIT.usage,
      );
    }
  }
  try {
    const response = await ctx.fetch(
      `${resolveServer(ctx, options.server)}/.well-known/breakglass-audit-keys.json`,
      {
        signal: AbortSignal.timeout(5000),
      },
    );
    if (!response.ok) return null;
    return (await response.json()) as { keys: never[] };
  } catch {
    return null;
  }
}

/** Checks an export's hash chain (and its signature where it has one); prints the first bad seq. */
export async function auditVerify(ctx: CliContext, file: string, options: VerifyOptions): Promise<void> {
  // One verifier for exports (boundary, end line, manifest signature) and bunker directories (digests).
  const { verifyPath } = await import('../verify-path.js');
  if (!existsSync(file)) throw new CliError(`cannot read ${file} (ENOENT)`, EXIT.notFound);
  const keys = await fetchAuditKeys(ctx, options);
  let report: Awaited<ReturnType<typeof verifyPath>>;
  try {
    report = await verifyPath(file, { keys });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read ${file} (${code ?? (error as Error).message})`,
      code === 'ENOENT' ? EXIT.notFound : EXIT.error,
    );
  }
  if (options.json) writeJson(ctx, report);
  if (!report.ok) {
    throw new CliError(
      `audit chain broken at seq ${report.firstBadSeq} (${report.reason}): ${report.detail}`,
      EXIT.error,
      undefined,
      'chain_broken',
    );
  }
  if (options.json) return;
  if (report.events === 0) {
    ctx.stdout.write(`${file}: no events\n`);
    return;
  }
  const extras = [
    report.digests !== null ? `${report.digests} signed digests` : null,
    `signature ${report.signature}`,
  ].filter(Boolean);
  ctx.stdout.write(
    `${file}: chain intact — ${report.events} events, seq ${report.firstSeq}…${report.lastSeq}, last hash ${report.lastHash}; ${extras.join('; ')}\n`,
  );
}
