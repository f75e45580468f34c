/** The request page's activity section, rendered from a real summary of the generated scenario. */
import { describe, expect, it } from 'vitest';
import { belongsToGrant, type GrantTrail } from '../../api/domain/activity/grant-trail.js';
import { ActivitySummarizer } from '../../api/domain/activity/summary.js';
import { ActivitySection } from '../../api/http/web/activity-section.js';
import type { ActivityReport } from '../../api/services/activity.js';
import { trailRecord } from '../../bench/fixtures/cloudtrail-logs.js';
import { grantActivityScenario } from '../support/cloudtrail-fixtures.js';

const TRAIL: GrantTrail = {
  requestId: 'req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
  accountId: '123456789012',
  roleArn: 'arn:aws:iam::123456789012:role/breakglass-prod-admin',
  sourceIdentity: 'alice@example.com',
  roleSessionName: 'alice.req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
  accessKeyIds: ['ASIAGRANTKEY00000001', 'ASIAGRANTKEY00000002'],
  window: { from: '2026-11-22T10:00:00.000Z', to: '2026-11-22T11:00:00.000Z' },
  endedBy: 'revoked',
  attributableUntil: '2026-11-22T11:20:00.000Z',
};

function report(): ActivityReport {
  const scenario = grantActivityScenario({
    grant: { ...TRAIL, accessKeyId: TRAIL.accessKeyIds[0]! },
    secondKey: TRAIL.accessKeyIds[1]!,
    from: TRAIL.window.from,
    until: TRAIL.window.to,
    attributableUntil: TRAIL.attributableUntil,
  });
  const summarizer = new ActivitySummarizer(TRAIL);
  for (const record of [...scenario.mine, ...scenario.foreign].map(trailRecord)) {
    if (belongsToGrant(record, TRAIL)) summarizer.push(record);
  }
  return {
    ...summarizer.build(),
    identity: { ...TRAIL },
    source: { location: '/trail', regions: ['us-east-1'], files: 4, bytes: 1000 },
    complete: true,
  };
}

const render = (node: unknown) => String(node);

describe('ActivitySection', () => {
  it('offers a button that reloads the page with the activity', () => {
    const html = render(<ActivitySection requestId={TRAIL.requestId} panel={{ kind: 'offer' }} />);
    expect(html).toContain(`action="/requests/${TRAIL.requestId}"`);
    expect(html).toContain('name="activity" value="1"');
    expect(html).toContain('id="show-activity"');
  });

  it('lists every finding with its event id, and the refused calls after the revocation', () => {
    const summary = report();
    const html = render(
      <ActivitySection requestId={TRAIL.requestId} panel={{ kind: 'report', report: summary }} />,
    );
    expect(html).toContain(`data-records="${summary.records}"`);
    expect(html).toContain('After the revocation: 3 refused, 0 allowed.');
    expect(html.match(/<tr data-kind=/g)).toHaveLength(summary.findings.length);
    for (const finding of summary.findings) expect(html).toContain(`<code>${finding.eventId}</code>`);
    expect(html).toContain('failed (AccessDenied)');
  });

  it('says why the trail could not be read', () => {
    const html = render(
      <ActivitySection
        requestId={TRAIL.requestId}
        panel={{
          kind: 'error',
          code: 'cloudtrail_unreadable',
          message: 'the organisation trail at s3://x could not be read',
        }}
      />,
    );
    expect(html).toContain('data-code="cloudtrail_unreadable"');
    expect(html).toContain('role="alert"');
  });
});
