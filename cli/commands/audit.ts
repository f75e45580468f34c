/** `audit export` and `audit verify`. */
import { createWriteStream, existsSync } from 'node:fs';
import { parseDurationMinutes } from '../../api/domain/duration.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT, usage } from '../errors.js';
import { writeJson } from '../output.js';
import { resolveServer } from '../state.js';
import { keysChanged, pinKeys, pinnedKeys, resolveTrust, servedKeys, unpinned } from '../trust.js';
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
  allowUnsigned?: boolean;
  allowStale?: boolean;
  at?: string;
  live?: boolean;
}

/** `audit verify`: an export, a bunker directory, or (`--live`) the broker's store against its bunker. */
export async function auditVerify(
  ctx: CliContext,
  path: string | undefined,
  options: VerifyOptions,
): Promise<void> {
  if (options.live) {
    if (path) throw usage('give either a path or --live, not both');
    return verifyLive(ctx, options);
  }
  if (!path) throw usage('audit verify needs a JSONL export or a bunker directory, or --live');
  // One verifier for exports (boundary, digests, end line, manifest signature) and bunker directories.
  const { verifyPath } = await import('../verify-path.js');
  if (!existsSync(path)) throw new CliError(`cannot read ${path} (ENOENT)`, EXIT.notFound);
  const at = options.at ? new Date(timeFlag(options.at, '--at', ctx.now())) : new Date(ctx.now());
  const trust = await resolveTrust(ctx, resolveServer(ctx, options.server), options.keys);
  if (trust.notice) ctx.stderr.write(`${trust.notice}\n`);
  let report: Awaited<ReturnType<typeof verifyPath>>;
  try {
    report = await verifyPath(path, {
      trusted: trust.trusted,
      ...(trust.untrustedBecause ? { untrustedBecause: trust.untrustedBecause } : {}),
      allowUnsigned: options.allowUnsigned ?? false,
      allowStale: options.allowStale ?? false,
      at,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read ${path} (${code ?? (error as Error).message})`,
      code === 'ENOENT' ? EXIT.notFound : EXIT.error,
    );
  }
  printVerification(ctx, path, report, options);
}

type Report = Awaited<ReturnType<typeof import('../verify-path.js').verifyPath>>;

/** One line: what was checked, against which keys, which range is signed; or the first bad seq and why. */
function printVerification(ctx: CliContext, what: string, report: Report, options: GlobalOptions): void {
  if (options.json) writeJson(ctx, report);
  if (!report.ok) {
    throw new CliError(
      `${what}: verification failed at seq ${report.firstBadSeq} (${report.reason}): ${report.detail}`,
      EXIT.error,
      undefined,
      report.reason === 'unsigned' ? 'unsigned' : 'chain_broken',
    );
  }
  if (options.json) return;
  const keys = report.keySource
    ? `${report.keySource} keys of ${report.keyOrigin}${report.kids.length ? ` (kid ${report.kids.join(', ')})` : ''}`
    : 'no trusted keys';
  const signed = report.signedRange
    ? `signed seq ${report.signedRange.fromSeq}…${report.signedRange.toSeq}`
    : 'nothing signed';
  const digests = report.digests !== null ? `; ${report.digests} digests` : '';
  const newest = report.newestDigest
    ? `; newest digest ${report.newestDigest.n} is ${formatAge(report.newestDigest.ageSeconds)} old`
    : '';
  const unsealed = report.unsealed ? `; ${report.unsealed} newer events not yet covered by a digest` : '';
  const verdict = report.unsigned ? `UNSIGNED (${report.unsigned})` : 'verified';
  const events =
    report.events === 0 ? 'no events' : `${report.events} events, seq ${report.firstSeq}…${report.lastSeq}`;
  ctx.stdout.write(
    `${what}: ${verdict} — ${events}; ${signed} against ${keys}${digests}${newest}${unsealed}\n`,
  );
  if (report.stale) ctx.stdout.write(`STALE: ${report.stale}\n`);
}

function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

/** `audit verify --live`: the broker compares its store with the bunker under its own (KMS) key. */
async function verifyLive(ctx: CliContext, options: VerifyOptions): Promise<void> {
  const client = await connect(ctx, options);
  const report = await client.json<Report>('GET', '/v1/audit/verify');
  printVerification(ctx, `live store at ${resolveServer(ctx, options.server)}`, report, options);
}

export interface KeysOptions extends GlobalOptions {
  accept?: boolean;
}

/** `audit keys`: the pinned audit keys of the server next to the ones it serves; `--accept` pins the served ones. */
export async function auditKeys(ctx: CliContext, options: KeysOptions): Promise<void> {
  const server = resolveServer(ctx, options.server);
  const pinned = pinnedKeys(ctx, server);
  const served = await servedKeys(ctx, server);
  if (!served.ok && (options.accept || !pinned)) {
    throw new CliError(`cannot fetch the audit keys: ${served.reason}`, EXIT.unavailable);
  }
  const changed = pinned && served.ok ? unpinned(pinned, served.keys) : [];
  if (options.accept && served.ok) {
    pinKeys(ctx, server, served.keys, true);
  }
  const kids = (keys: Array<{ kid?: string }>) => keys.map((key) => key.kid).join(', ') || '(none)';
  if (options.json) {
    writeJson(ctx, {
      server,
      pinned: (options.accept && served.ok ? pinnedKeys(ctx, server)?.keys : pinned?.keys) ?? null,
      served: served.ok ? served.keys.keys : null,
      changed: options.accept ? [] : changed,
      accepted: Boolean(options.accept),
    });
    return;
  }
  if (options.accept && served.ok) {
    const now = pinnedKeys(ctx, server)?.keys ?? [];
    ctx.stdout.write(
      `Pinned the audit keys of ${server}: kid ${kids(now)} (keys pinned before stay trusted)\n`,
    );
    return;
  }
  ctx.stdout.write(`pinned: ${pinned ? `kid ${kids(pinned.keys)} (since ${pinned.pinnedAt})` : 'none'}\n`);
  ctx.stdout.write(`served: ${served.ok ? `kid ${kids(served.keys.keys)}` : served.reason}\n`);
  if (changed.length > 0) throw keysChanged(server, changed);
}
