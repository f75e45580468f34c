/**
 * The JSONL export format: a boundary line, the events exactly as stored (one per line, in seq order), and an
 * end line. The boundary names the chain position the range starts from, so a range verifies on its own; the
 * end line names where it stops (count, last seq and hash), so truncation is detectable; the ES256 manifest
 * signature makes the whole file attributable to the broker. After the event a signed digest ends on, a digest
 * line carries that digest's JWS, so the export also proves what the sealer signed at the time.
 *
 * What the end line's `sha256` covers depends on the format:
 * - `/2` (written since 2026-11): the boundary and digest lines, in order, each with its newline. Every event
 *   line must be exactly the canonical JSON (RFC 8785) of its event and no line may be blank, so the chain
 *   itself pins every event byte: the signed last hash fixes the last line, whose `prevHash` fixes the one before,
 *   and so on back to the signed boundary. A second pass over the event bytes would add nothing.
 * - `/1` (older exports, still verified): every byte before the end line.
 */
import { type SegmentResult, textAt, verifySegment } from '../audit-chain.js';

export const EXPORT_FORMAT = 'breakglass-audit-jsonl/2';
/** The first format, whose end line hashes every byte before it; verified, no longer written. */
export const EXPORT_FORMAT_V1 = 'breakglass-audit-jsonl/1';
export type ExportFormat = typeof EXPORT_FORMAT | typeof EXPORT_FORMAT_V1;

export interface ExportBoundary {
  type: 'export.boundary';
  format: ExportFormat;
  /** Seq and hash of the event just before the first exported one (0 and the genesis hash from the start). */
  prevSeq: number;
  prevHash: string;
  since: string | null;
  until: string | null;
}

export interface ExportManifest {
  type: 'breakglass.export-manifest';
  format: ExportFormat;
  /** SHA-256 (hex) over the boundary and digest lines (`/2`), or over every byte before the end line (`/1`). */
  sha256: string;
  count: number;
  prevSeq: number;
  prevHash: string;
  firstSeq: number | null;
  lastSeq: number;
  lastHash: string;
  since: string | null;
  until: string | null;
  exportedAt: string;
  /** Digest lines in the file. */
  digests?: number;
}

/** A signed digest (compact JWS) that ends on the event just before this line. */
export interface ExportDigestLine {
  type: 'export.digest';
  jws: string;
}

export interface ExportEnd extends Omit<ExportManifest, 'type'> {
  type: 'export.end';
  /** Compact ES256 JWS over the manifest (same fields, `type: breakglass.export-manifest`), when signed. */
  signature?: string;
  /** Why the broker refused to sign: the events it read disagree with its signed digests. */
  refused?: string;
}

export function isExportLine(value: unknown): value is ExportBoundary | ExportEnd | ExportDigestLine {
  const type = (value as { type?: unknown } | null)?.type;
  return (
    (type === 'export.boundary' || type === 'export.end' || type === 'export.digest') &&
    !('seq' in (value as object))
  );
}

/** Boundary, digest and end lines start with their type; event lines (canonical JSON) never do. */
export const EXPORT_LINE_PREFIX = '{"type":"export.';

/** A stretch of an export read on its own: runs of event lines checked by `verifySegment`, and export lines. */
export type ExportPart = SegmentResult | string;

/**
 * Splits whole lines of a format /2 export into its export lines (as text,
 * without the newline) and the runs of event lines between them, each run checked from the position its first
 * line claims. Stretches of one file can be read this way on several threads; linking the parts in file order
 * (`verifyJsonlParts`) gives exactly what the one-thread verifier reports.
 */
export function exportParts(lines: string): ExportPart[] {
  // The file's last line may lack its newline.
  const text = lines.length === 0 || lines.endsWith('\n') ? lines : `${lines}\n`;
  const parts: ExportPart[] = [];
  for (let from = 0; from < text.length; ) {
    const found = textAt(text, from, EXPORT_LINE_PREFIX)
      ? from
      : text.indexOf(`\n${EXPORT_LINE_PREFIX}`, from);
    if (found < 0) {
      parts.push(verifySegment(text.slice(from), true));
      break;
    }
    const line = found === from ? from : found + 1;
    if (line > from) parts.push(verifySegment(text.slice(from, line), true));
    const newline = text.indexOf('\n', line);
    parts.push(text.slice(line, newline < 0 ? text.length : newline));
    from = newline < 0 ? text.length : newline + 1;
  }
  return parts;
}
