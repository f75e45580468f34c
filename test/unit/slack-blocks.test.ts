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
  slackApprovers: ['bob@example.com', 'dave@example.com'],
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

  it('while pending: who approved so far and the decision deadline in each reader’s time zone', () => {
    const message = requestMessage(
      request({
        approvals: [
          {
            approver: { subject: 'bob', email: 'bob@example.com' },
            at: '2026-11-22T10:05:00.000Z',
            comment: null,
            via: 'web',
          },
        ],
      }),
      context,
    );
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('(1 of 2 approvals)');
    expect(json).toContain('Approved so far by bob@example.com');
    // 2026-11-22T12:00:00Z = 1795348800: Slack renders <!date^…> in the reader's zone, UTC text as fallback.
    expect(json).toContain(
      '*Decide by:* <!date^1795348800^{date_short_pretty} {time}|2026-11-22 12:00:00 UTC>',
    );
    // dave can still approve in Slack; bob already did, so the buttons stay for dave.
    expect(buttons(message.blocks).map((b) => b.action_id)).toContain(ACTION_APPROVE);
  });

  it('an active grant shows its end; extensions asked and granted are listed', () => {
    const message = requestMessage(
      request({
        status: 'active',
        startAt: '2026-11-22T10:00:00.000Z',
        endAt: '2026-11-22T12:00:00.000Z',
        extension: {
          durationMinutes: 30,
          reason: 'still migrating',
          requestedAt: '2026-11-22T11:30:00.000Z',
          approvalsRequired: 2,
          approvals: [],
        },
        extensions: [
          {
            durationMinutes: 30,
            reason: 'first batch slow',
            approvedAt: '2026-11-22T11:00:00.000Z',
            previousEndAt: '2026-11-22T11:30:00.000Z',
          },
        ],
      }),
      context,
    );
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('*Ends:* <!date^1795348800^');
    expect(json).toContain('*Extension asked:* 30 min more (0 of 2 approvals): still migrating');
    expect(json).toContain('*Extended* by 30 min');
    expect(json).not.toContain('Decide by');
    // The extension waits for approvers who can click in Slack, and the confirmation says what is approved.
    const approve = buttons(message.blocks).find((b) => b.action_id === ACTION_APPROVE);
    expect(JSON.stringify(approve?.confirm)).toContain('keeps prod-admin 30 min longer');
  });

  it('no Approve/Deny where nobody can act in Slack: no approverUsers, or only the requester is listed', () => {
    for (const slackApprovers of [[], ['alice@example.com'], ['ALICE@example.com']]) {
      const message = requestMessage(request(), { ...context, slackApprovers });
      expect(buttons(message.blocks).map((b) => b.action_id)).toEqual([ACTION_OPEN]);
    }
    const approvedByAll = requestMessage(
      request({
        approvals: [
          {
            approver: { subject: 'bob', email: 'bob@example.com' },
            at: '2026-11-22T10:05:00.000Z',
            comment: null,
            via: 'slack',
          },
        ],
      }),
      { ...context, slackApprovers: ['bob@example.com'] },
    );
    expect(buttons(approvedByAll.blocks).map((b) => b.action_id)).toEqual([ACTION_OPEN]);
  });

  it('a flagged post-review stands out (own block, flag, in the fallback text); an acknowledged one is stated', () => {
    const emergency = {
      emergency: true,
      status: 'active' as const,
      approvalsRequired: 0,
      startAt: '2026-11-22T10:00:00.000Z',
      endAt: '2026-11-22T11:30:00.000Z',
    };
    const review = (outcome: 'flagged' | 'acknowledged') => ({
      dueAt: '2026-11-23T10:00:00.000Z',
      outcome,
      by: { subject: 'bob', email: 'bob@example.com' },
      at: '2026-11-22T10:30:00.000Z',
      comment: 'touched IAM users',
      overdue: false,
    });
    const flagged = requestMessage(request({ ...emergency, postReview: review('flagged') }), context);
    const block = flagged.blocks.find((b) => b.block_id === 'post_review');
    expect(JSON.stringify(block)).toContain(
      ':triangular_flag_on_post: *FLAGGED in post-review* by bob@example.com: touched IAM users',
    );
    expect(flagged.text).toContain('FLAGGED in post-review');
    expect(JSON.stringify(flagged.blocks)).not.toContain('must review it');
    const acknowledged = requestMessage(
      request({ ...emergency, postReview: review('acknowledged') }),
      context,
    );
    expect(JSON.stringify(acknowledged.blocks)).toContain('Post-review: acknowledged by bob@example.com');
    expect(JSON.stringify(acknowledged.blocks)).not.toContain('FLAGGED');
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
