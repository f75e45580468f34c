/**
 * The report's verification banner. It only shows the result it is given: which status a range gets (and so
 * whether the banner is green) is decided where the range is checked (`verifyRange` in routes/audit.ts).
 */
import type { FC } from 'hono/jsx';

/**
 * What the report could check about its range. One value decides the banner: `verified` (green) only when the
 * range's chain walk reached a digest signed by a trusted key; `unsigned` (amber) when the chain holds but no
 * signed digest covers the range yet; `failed` (red) otherwise.
 */
export type RangeVerification =
  | {
      status: 'verified' | 'unsigned';
      events: number;
      firstSeq: number | null;
      lastSeq: number | null;
      lastHash: string | null;
      digests: number;
      /** End of the signed digest the walk reached (covers the range's last event); null when none. */
      coveredBySeq: number | null;
      lastDigestSeq: number;
      /** Which key the digests were checked against, in words. */
      keySource: string;
      /** Events from before the range read to complete requests (not covered by this check). */
      contextEvents: number;
    }
  | {
      status: 'failed';
      events: number;
      firstBadSeq: number;
      reason: string;
      detail: string;
      digests: number;
      keySource: string;
    };

export const VerificationBanner: FC<{ verification: RangeVerification }> = ({ verification }) => {
  if (verification.status === 'failed') {
    return (
      <p class="status bad" id="verification" data-status="failed">
        NOT VERIFIED: first bad seq {verification.firstBadSeq} ({verification.reason}): {verification.detail}
      </p>
    );
  }
  const chain = verification.events ? (
    <>
      the {verification.events} events of the range (seq {verification.firstSeq}…{verification.lastSeq}) chain
      correctly from the stored predecessor hash, last hash <code>{verification.lastHash}</code>
    </>
  ) : (
    'the range holds no events'
  );
  const context =
    verification.contextEvents > 0
      ? ` ${verification.contextEvents} earlier events were read from the requests' own histories to complete rows that began before the range; those are not covered by this check.`
      : '';
  if (verification.status === 'verified') {
    return (
      <p class="status good" id="verification" data-status="verified">
        Verified: {chain}; the walk continued to seq {verification.coveredBySeq}, the end of a signed digest,
        and {verification.digests} digests (a chain from seq 1 to {verification.lastDigestSeq}) were checked
        against {verification.keySource}.{context}
      </p>
    );
  }
  const why = verification.events
    ? `no signed digest covers seq ${verification.lastSeq} yet (${verification.digests} digests checked against ${verification.keySource}, newest ends at seq ${verification.lastDigestSeq})`
    : 'there is nothing a signature could cover';
  return (
    <p class="status warn-box" id="verification" data-status="unsigned">
      NOT SIGNED: {chain}, but {why}. Generate the report again after the next digest, or verify an export
      with <code>breakglass audit verify</code>.{context}
    </p>
  );
};
