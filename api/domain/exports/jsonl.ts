/**
 * The JSONL export format: a boundary line, the events exactly as stored (one per line, in seq order), and an
 * end line. The boundary names the chain position the range starts from, so a range verifies on its own; the
 * end line names where it stops and the SHA-256 of every byte before it, so truncation is detectable; the ES256
 * manifest signature makes the whole file attributable to the broker. After the event a signed digest ends on,
 * a digest line carries that digest's JWS, so the export also proves what the sealer signed at the time.
 */
export const EXPORT_FORMAT = 'breakglass-audit-jsonl/1';

export interface ExportBoundary {
  type: 'export.boundary';
  format: typeof EXPORT_FORMAT;
  /** Seq and hash of the event just before the first exported one (0 and the genesis hash from the start). */
  prevSeq: number;
  prevHash: string;
  since: string | null;
  until: string | null;
}

export interface ExportManifest {
  type: 'breakglass.export-manifest';
  format: typeof EXPORT_FORMAT;
  /** SHA-256 (hex) over every byte of the file before the end line. */
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
