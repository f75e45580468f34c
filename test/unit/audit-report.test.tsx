/**
 * The review report rendered with hono/jsx: every value from the audit log is escaped by the renderer, the
 * verification banner shows exactly the result it is given, and the charts draw one bar segment per role and
 * week.
 */
import { describe, expect, it } from 'vitest';
import { ReportBuilder, type ReportModel } from '../../api/domain/exports/report.js';
import type { RecordEvent } from '../../api/domain/exports/request-record.js';
import { renderAuditReport } from '../../api/http/web/pages/audit-report.js';
import { GrantsChart, LatencyChart } from '../../api/http/web/report/charts.js';
import { type RangeVerification, VerificationBanner } from '../../api/http/web/report/verification-banner.js';

const VERIFIED_AT = '2026-11-18T00:00:00.000Z';
const HOSTILE = `<script>alert("x")</script> & 'q'`;
const user = (name: string) => ({
  type: 'user' as const,
  subject: `sub-${name}`,
  email: `${name}@example.com`,
  via: 'web' as const,
});

/** One emergency grant and one denied request, each with hostile text in every free-text field. */
function model(): ReportModel {
  const builder = new ReportBuilder();
  let clock = Date.parse('2026-11-16T09:00:00.000Z');
  const push = (type: string, requestId: string, actor: RecordEvent['actor'], data: object) => {
    clock += 60_000;
    builder.push({
      id: `evt_${clock}`,
      type,
      requestId,
      roleId: `prod-${HOSTILE}`,
      accountId: '123456789012',
      actor,
      data,
      time: new Date(clock).toISOString(),
      simulated: true,
    } as RecordEvent);
  };
  push('request.created', 'req_E', user('alice'), {
    reason: `fire ${HOSTILE}`,
    ticket: `INC-1 ${HOSTILE}`,
    emergency: true,
  });
  push('grant.activated', 'req_E', user('alice'), { endAt: '2026-11-16T11:00:00.000Z' });
  push('emergency.activated', 'req_E', user('alice'), { postReviewDueAt: '2026-11-17T09:00:00.000Z' });
  push('credentials.issued', 'req_E', user('alice'), { accessKeyId: 'ASIASIMULATED0000001' });
  push('review.recorded', 'req_E', user('bob'), { outcome: 'flagged', comment: `look ${HOSTILE}` });
  push('request.created', 'req_D', user('alice'), { reason: 'curious', ticket: '', emergency: false });
  push('request.denied', 'req_D', user('bob'), { comment: `no ${HOSTILE}` });
  push('access.forbidden', 'req_D', user('erin'), { action: `approve ${HOSTILE}`, code: 'not_approver' });
  return builder.build({ since: '2026-11-16T00:00:00.000Z', until: null }, new Date('2026-11-18T00:00:00Z'));
}

const VERIFIED: RangeVerification = {
  status: 'verified',
  events: 8,
  firstSeq: 11,
  lastSeq: 18,
  lastHash: 'ab12',
  digests: 3,
  coveredBySeq: 20,
  lastDigestSeq: 20,
  keySource: `the broker's signing key (kid ${HOSTILE})`,
  contextEvents: 2,
};

describe('review report (hono/jsx)', () => {
  it('escapes every value taken from the audit log; no markup from it survives', () => {
    const html = renderAuditReport(model(), VERIFIED, {
      version: `1.0 ${HOSTILE}`,
      generatedAt: VERIFIED_AT,
    });
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true);
    expect(html).not.toContain('<script');
    expect(html).not.toContain(`"x")`);
    const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;';
    for (const text of [
      `fire ${escaped}`,
      `INC-1 ${escaped}`,
      `look ${escaped}`,
      `no ${escaped}`,
      `1.0 ${escaped}`,
    ])
      expect(html).toContain(text);
    // Both grants are in their sections, with the flagged review and the refusal.
    const section = (id: string) => html.slice(html.indexOf(`<section id="${id}">`)).split('</section>')[0]!;
    expect(section('access-review')).toContain('<code>req_E</code> <span class="bad">emergency</span>');
    expect(section('access-review')).toContain('<code>ASIASIMULATED0000001</code>');
    expect(section('denials')).toContain('<code>req_D</code>');
    expect(html).toContain('<span class="bad">flagged</span> by bob@example.com');
    expect(html).toContain('<code>not_approver</code>');
  });

  it.each([
    [
      VERIFIED,
      'good',
      'verified',
      /^Verified: the 8 events of the range \(seq 11…18\).*last hash <code>ab12<\/code>; the walk continued to seq 20, the end of a signed digest, and 3 digests \(a chain from seq 1 to 20\).* 2 earlier events .* not covered by this check\.$/,
    ],
    [
      { ...VERIFIED, status: 'unsigned', coveredBySeq: null, lastDigestSeq: 12, contextEvents: 0 } as const,
      'warn-box',
      'unsigned',
      /^NOT SIGNED: the 8 events .*, but no signed digest covers seq 18 yet \(3 digests checked against .*, newest ends at seq 12\)\. Generate the report again after the next digest, or verify an export with <code>breakglass audit verify<\/code>\.$/,
    ],
    [
      {
        ...VERIFIED,
        status: 'unsigned',
        events: 0,
        firstSeq: null,
        lastSeq: null,
        lastHash: null,
        contextEvents: 0,
      } as const,
      'warn-box',
      'unsigned',
      /^NOT SIGNED: the range holds no events, but there is nothing a signature could cover\./,
    ],
    [
      {
        status: 'failed',
        events: 4,
        firstBadSeq: 13,
        reason: 'hash_mismatch',
        detail: `stored <b>hash</b> differs`,
        digests: 0,
        keySource: 'k',
      } as const,
      'bad',
      'failed',
      /^NOT VERIFIED: first bad seq 13 \(hash_mismatch\): stored &lt;b&gt;hash&lt;\/b&gt; differs$/,
    ],
  ] as const)('the banner shows the result it is given (%#)', (verification, cls, status, text) => {
    const banner = String(<VerificationBanner verification={verification} />);
    const match = /^<p class="status ([^"]+)" id="verification" data-status="([a-z]+)">(.*)<\/p>$/.exec(
      banner,
    );
    expect(match?.[1]).toBe(cls);
    expect(match?.[2]).toBe(status);
    expect(match?.[3]).toMatch(text);
    // The page carries the same banner, unchanged.
    expect(renderAuditReport(model(), verification, { version: '1', generatedAt: VERIFIED_AT })).toContain(
      banner,
    );
  });

  it('charts: one stacked segment per role and week with its count; one latency bar per bucket', () => {
    const grants = String(
      <GrantsChart
        model={{
          weeks: ['2026-11-09', '2026-11-16'],
          roles: ['prod-admin', `x${HOSTILE}`],
          counts: {
            '2026-11-09': { 'prod-admin': 2 },
            '2026-11-16': { 'prod-admin': 1, [`x${HOSTILE}`]: 3 },
          },
        }}
      />,
    );
    expect(grants.match(/<rect x=/g)).toHaveLength(3);
    expect(grants).toContain('<title>prod-admin, week of 2026-11-09: 2</title>');
    expect(grants).toContain('<title>x&lt;script&gt;');
    expect(grants).toContain('text-anchor="middle"');
    expect(grants).toContain('viewBox="0 0 720 260"');
    expect(grants).not.toContain('<script');
    const latency = model().approvalLatency;
    expect(String(<LatencyChart model={latency} />)).toContain('No approvals in this range.');
    const bars = String(
      <LatencyChart
        model={{
          samples: 3,
          medianSeconds: 100,
          p90Seconds: 400,
          buckets: [
            { label: '< 5 min', upToSeconds: 300, count: 2 },
            { label: '5–15 min', upToSeconds: 900, count: 1 },
          ],
        }}
      />,
    );
    expect(bars.match(/<rect /g)).toHaveLength(2);
    expect(bars).toContain('<title>&lt; 5 min: 2</title>');
  });
});
