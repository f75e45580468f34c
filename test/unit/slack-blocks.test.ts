import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../api/domain/types.js';
import type { Block } from '../../api/ports/slack.js';
import {
  ACTION_APPROVE,
  ACTION_DENY,
  ACTION_OPEN,
  checkSlackLimits,
  requestMessage,
  SLACK_LIMITS,
} from '../../api/services/notifications/slack-blocks.js';
import { signSlackRequest, verifySlackRequest } from '../../api/services/notifications/slack-signature.js';

const context = {
  publicUrl: 'https://breakglass.example.com',
  approveInSlack: true,
  ticketUrl: 'https://tracker.example.com/browse/INC-42',
};

function request(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 'req_01JD0000000000000000000000',
    roleId: 'prod-admin',
    accountId: '123456789012',
    roleArn: 'arn:aws:iam::123456789012:role/breakglass-prod-admin',
    requester: { subject: 'alice', email: 'alice@example.com' },
    requesterGroups: ['sre'],
    reason: 'database failover',
    ticket: 'INC-42',
    emergency: false,
    durationMinutes: 90,
    startAt: null,
    endAt: null,
    scheduled: false,
    status: 'pending',
    approvalsRequired: 2,
    approvals: [],
    denial: null,
    cancellation: null,
    revocation: null,
    postReview: null,
    extension: null,
    extensions: [],
    pendingUntil: '2026-11-22T12:00:00.000Z',
    endReason: null,
    createdAt: '2026-11-22T10:00:00.000Z',
    updatedAt: '2026-11-22T10:00:00.000Z',
    version: 1,
    ...overrides,
  };
}

const buttons = (blocks: Block[]) =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Array<Record<string, unknown>>);

describe('Block Kit messages', () => {
  it('a pending request: who, role, how long, why, ticket link, Open + Approve/Deny (snapshot)', () => {
    const message = requestMessage(request(), context);
    expect(message).toMatchSnapshot();
    expect(checkSlackLimits(message)).toEqual([]);
    expect(buttons(message.blocks).map((b) => b.action_id)).toEqual([
      ACTION_OPEN,
      ACTION_APPROVE,
      ACTION_DENY,
    ]);
    expect(buttons(message.blocks)[0]?.url).toBe(
      'https://breakglass.example.com/requests/req_01JD0000000000000000000000',
    );
    const json = JSON.stringify(message);
    for (const part of [
      'alice@example.com',
      'prod-admin',
      '1 h 30 min',
      'database failover',
      '<https://tracker.example.com/browse/INC-42|INC-42>',
    ]) {
      expect(json).toContain(part);
    }
  });

  it('without approveInSlack only the Open button is offered', () => {
    const message = requestMessage(request(), { ...context, approveInSlack: false });
    expect(buttons(message.blocks).map((b) => b.action_id)).toEqual([ACTION_OPEN]);
  });

  it('an emergency activation alerts the channel with @here and offers no approval buttons (snapshot)', () => {
    const message = requestMessage(
      request({
        emergency: true,
        status: 'active',
        approvalsRequired: 0,
        startAt: '2026-11-22T10:00:00.000Z',
        endAt: '2026-11-22T11:30:00.000Z',
        postReview: {
          dueAt: '2026-11-23T10:00:00.000Z',
          outcome: null,
          by: null,
          at: null,
          comment: null,
          overdue: false,
        },
      }),
      context,
    );
    expect(message.text.startsWith('<!here>')).toBe(true);
    expect(JSON.stringify(message.blocks)).toContain('EMERGENCY');
    expect(buttons(message.blocks).map((b) => b.action_id)).toEqual([ACTION_OPEN]);
    expect(message).toMatchSnapshot();
  });

  it.each([
    ['approved', 'Approved'],
    ['active', 'Active'],
    ['denied', 'Denied'],
    ['revoked', 'Revoked'],
    ['expired', 'Expired'],
  ] as const)('an update for %s states it and drops the decision buttons', (status, word) => {
    const message = requestMessage(request({ status }), context);
    expect(JSON.stringify(message.blocks)).toContain(word);
    expect(buttons(message.blocks).map((b) => b.action_id)).toEqual([ACTION_OPEN]);
  });

  it('user text cannot ping the channel or inject links', () => {
    const message = requestMessage(
      request({ reason: '<!channel> see <https://evil.example|here> & more' }),
      context,
    );
    const json = JSON.stringify(message);
    expect(json).not.toContain('<!channel>');
    expect(json).toContain('&lt;!channel&gt;');
    expect(json).not.toContain('<https://evil.example');
  });

  it('stays inside Slack limits with the longest inputs the API accepts', () => {
    const message = requestMessage(
      request({
        reason: 'x'.repeat(1000).replace(/x/g, '&<>'),
        ticket: 'T'.repeat(128),
        roleId: 'r'.repeat(63),
        requester: { subject: 's', email: `${'a'.repeat(200)}@example.com` },
      }),
      context,
    );
    expect(checkSlackLimits(message)).toEqual([]);
    expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    for (const button of buttons(message.blocks)) {
      expect(String((button.text as { text: string }).text).length).toBeLessThanOrEqual(75);
      expect(String(button.value).length).toBeLessThanOrEqual(2000);
    }
  });

  it('the limit check itself catches oversized buttons, values and block counts', () => {
    const bad = {
      text: 'x',
      blocks: [
        ...Array.from({ length: 51 }, () => ({ type: 'divider' })),
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              action_id: 'a',
              text: { type: 'plain_text', text: 'y'.repeat(76) },
              value: 'v'.repeat(2001),
            },
          ],
        },
      ],
    };
    const problems = checkSlackLimits(bad);
    expect(problems.some((p) => p.includes('blocks'))).toBe(true);
    expect(problems.some((p) => p.includes('button text'))).toBe(true);
    expect(problems.some((p) => p.includes('value'))).toBe(true);
  });
});

describe('Slack request signatures', () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const body = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
  const now = 1_795_860_000;
  const ts = String(now);
  const signature = signSlackRequest(secret, ts, body);

  it('accepts a fresh, correctly signed request', () => {
    expect(
      verifySlackRequest({ secret, timestamp: ts, signature, rawBody: body, nowSeconds: now + 299 }),
    ).toEqual({ ok: true });
  });

  it.each([
    ['a tampered body', { rawBody: `${body}x` }, 'invalid_signature'],
    ['another secret', { secret: `${secret}x` }, 'invalid_signature'],
    ['a missing signature', { signature: undefined }, 'invalid_signature'],
    ['a malformed timestamp', { timestamp: '12abc' }, 'invalid_signature'],
    ['a timestamp 301 s old', { nowSeconds: now + 301 }, 'stale_request'],
    ['a timestamp 301 s ahead', { nowSeconds: now - 301 }, 'stale_request'],
  ] as const)('refuses %s', (_label, change, code) => {
    expect(
      verifySlackRequest({ secret, timestamp: ts, signature, rawBody: body, nowSeconds: now, ...change }),
    ).toEqual({ ok: false, code });
  });

  it('matches Slack’s documented v0 format', () => {
    expect(signature).toMatch(/^v0=[0-9a-f]{64}$/);
  });
});
