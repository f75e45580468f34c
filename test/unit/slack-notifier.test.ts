import { describe, expect, it } from 'vitest';
import { MemoryMarkers } from '../../api/adapters/memory/markers.js';
import { LogOnlySlack } from '../../api/adapters/slack/client.js';
import type { BreakglassConfig } from '../../api/config/schema.js';
import type { AccessRequest, AuditEvent, AuditEventDraft } from '../../api/domain/types.js';
import { silentLogger } from '../../api/ports/logger.js';
import type { SlackApi, SlackMessage, SlackMessageRef } from '../../api/ports/slack.js';
import { SlackNotifier } from '../../api/services/notifications/slack-notifier.js';
import { captureLogs } from '../support/log-capture.js';

const config = {
  notifications: { slack: { channel: 'C0DEFAULT', approveInSlack: false }, webhooks: [] },
  web: {},
  roles: [{ id: 'prod-admin', slackChannel: 'C0ADMIN' }, { id: 'prod-readonly' }],
} as unknown as BreakglassConfig;

const base = {
  id: 'req_01JD0000000000000000000000',
  roleId: 'prod-admin',
  accountId: '123456789012',
  requester: { subject: 'alice', email: 'alice@example.com' },
  reason: 'failover',
  ticket: null,
  emergency: false,
  durationMinutes: 60,
  status: 'pending',
  approvalsRequired: 1,
  approvals: [],
  denial: null,
  revocation: null,
  cancellation: null,
  postReview: null,
  extension: null,
  extensions: [],
  pendingUntil: '2026-11-22T12:00:00.000Z',
  createdAt: '2026-11-22T10:00:00.000Z',
} as unknown as AccessRequest;

const events = (...types: string[]) => types.map((type) => ({ type }) as AuditEvent);

class FakeSlack implements SlackApi {
  readonly delivers = true;
  readonly calls: Array<{ op: string; channel: string; text: string }> = [];
  failPosts = false;
  async postMessage(channel: string, message: SlackMessage): Promise<SlackMessageRef> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (this.failPosts)
      throw Object.assign(new Error('An API error occurred'), { data: { error: 'channel_not_found' } });
    this.calls.push({ op: 'post', channel, text: message.text });
    return { channel, ts: '1.1' };
  }
  async updateMessage(ref: SlackMessageRef, message: SlackMessage): Promise<void> {
    this.calls.push({ op: 'update', channel: ref.channel, text: message.text });
  }
  async userInfo() {
    return { email: null, deleted: false, isBot: false };
  }
}

function notifier(slack: SlackApi) {
  const recorded: AuditEventDraft[] = [];
  const instance = new SlackNotifier({
    config,
    slack,
    markers: new MemoryMarkers(),
    logger: silentLogger,
    publicUrl: 'https://bg.example.com',
    recordEvents: async (drafts) => {
      recorded.push(...drafts);
    },
  });
  return { instance, recorded };
}

describe('SlackNotifier', () => {
  it('posts to the role channel, then updates the same message in order, even when changes come at once', async () => {
    const slack = new FakeSlack();
    const { instance, recorded } = notifier(slack);
    void instance.afterChange(base, events('request.created'));
    void instance.afterChange({ ...base, status: 'active' }, events('approval.recorded', 'request.approved'));
    void instance.afterChange({ ...base, status: 'expired' }, events('grant.expired'));
    await instance.idle();
    expect(slack.calls.map((c) => `${c.op}:${c.channel}`)).toEqual([
      'post:C0ADMIN',
      'update:C0ADMIN',
      'update:C0ADMIN',
    ]);
    expect(slack.calls[2]?.text).toContain('Expired');
    expect(recorded.map((e) => [e.type, e.data.channel, e.data.kind])).toEqual([
      ['notification.sent', 'slack', 'approval_request'],
    ]);
  });

  it('records a failed post as notification.failed with Slack’s error code, and does not throw', async () => {
    const slack = new FakeSlack();
    slack.failPosts = true;
    const { instance, recorded } = notifier(slack);
    await instance.afterChange({ ...base, roleId: 'prod-readonly' }, events('request.created'));
    expect(recorded).toEqual([
      expect.objectContaining({
        type: 'notification.failed',
        requestId: base.id,
        data: expect.objectContaining({ channel: 'slack', target: 'C0DEFAULT', error: 'channel_not_found' }),
      }),
    ]);
  });

  it('does not post for requests that need no approval, and never audits log-only messages', async () => {
    const { instance, recorded } = notifier(new LogOnlySlack(silentLogger));
    await instance.afterChange({ ...base, status: 'active' }, events('request.created', 'request.approved'));
    await instance.afterChange(base, events('request.created'));
    expect(recorded).toEqual([]);
    const slack = new FakeSlack();
    const other = notifier(slack);
    await other.instance.afterChange(
      { ...base, status: 'active' },
      events('request.created', 'request.approved'),
    );
    expect(slack.calls).toEqual([]);
  });
});

describe('LogOnlySlack (the local stand-in)', () => {
  it('logs the whole Block Kit payload, marked as not sent, for posts and updates', async () => {
    const { logger, lines } = captureLogs('info');
    const slack = new LogOnlySlack(logger);
    const { instance } = notifier(slack);
    const logged = new SlackNotifier({
      ...(instance as unknown as { options: ConstructorParameters<typeof SlackNotifier>[0] }).options,
      slack,
      logger,
    });
    await logged.afterChange(base, events('request.created'));
    await logged.afterChange({ ...base, status: 'denied' }, events('request.denied'));
    const entries = lines.map((line) => JSON.parse(line)).filter((entry) => entry.slack);
    expect(entries.map((entry) => entry.msg)).toEqual(['slack message', 'slack message update']);
    for (const entry of entries) {
      expect(entry.slack).toBe('NOT SENT (no Slack token)');
      expect(Array.isArray(entry.blocks)).toBe(true);
      expect(entry.blocks[0].type).toBe('header');
    }
    expect(JSON.stringify(entries[1].blocks)).toContain('Denied');
  });
});

describe('MemoryMarkers', () => {
  it('claims once while live and again after expiry', async () => {
    let now = 0;
    const markers = new MemoryMarkers(() => now);
    expect(await markers.claim('k', 'a', 10)).toBe(true);
    expect(await markers.claim('k', 'a', 10)).toBe(false);
    now = 10_001;
    expect(await markers.get('k', 'a')).toBeNull();
    expect(await markers.claim('k', 'a', 10)).toBe(true);
  });
});
