/**
 * The one text rule (api/domain/text.ts) and the link building that must never throw, down to the emergency
 * alert: a lone surrogate in a ticket used to make encodeURIComponent throw, so the request became active and
 * the loud Slack alert was never posted.
 */
import { describe, expect, it } from 'vitest';
import { MemoryMarkers } from '../../api/adapters/memory/markers.js';
import type { BreakglassConfig } from '../../api/config/schema.js';
import { DomainError } from '../../api/domain/errors.js';
import { checkText, encodeLinkComponent, isWellFormed, textProblem } from '../../api/domain/text.js';
import type { AccessRequest, AuditEvent, AuditEventDraft } from '../../api/domain/types.js';
import { silentLogger } from '../../api/ports/logger.js';
import type { SlackApi, SlackMessage, SlackMessageRef } from '../../api/ports/slack.js';
import { SlackNotifier } from '../../api/services/notifications/slack-notifier.js';

const refused: Array<[string, string]> = [
  ['lone high surrogate', 'INC-78\ud800'],
  ['lone low surrogate', '\udc00INC'],
  ['reversed pair', 'x\udc00\ud800'],
  ['NUL', 'a\u0000b'],
  ['escape (terminal colours)', 'a\u001b[31mred'],
  ['DEL', 'a\u007f'],
  ['C1 control', 'a\u0085b'],
  ['right-to-left override', 'update \u202etxt.exe\u202c now'],
  ['left-to-right embedding', 'a\u202ab'],
  ['first-strong isolate', 'a\u2068b\u2069'],
  ['right-to-left mark', 'a\u200fb'],
  ['Arabic letter mark', 'a\u061cb'],
  ['zero-width space', 'appr\u200boved'],
  ['zero-width joiner', 'a\u200db'],
  ['word joiner', 'a\u2060b'],
  ['byte order mark', '\ufeffreason'],
  ['line separator', 'a\u2028b'],
  ['Hangul filler', 'a\u3164b'],
];

describe('the text rule', () => {
  it.each(refused)('refuses %s', (_name, value) => {
    expect(textProblem(value)).not.toBeNull();
    expect(() => checkText('reason', value)).toThrow(DomainError);
    try {
      checkText('reason', value);
    } catch (error) {
      expect((error as DomainError).code).toBe('invalid_text');
      expect((error as DomainError).extra).toEqual({ field: 'reason' });
      expect((error as DomainError).message).toMatch(/^reason /);
    }
  });

  it.each([
    'database failover, INC-42',
    'Zugriff für Störung — prüfen',
    'ошибка в продакшене',
    'שגיאה בייצור',
    '本番障害の調査',
    'pager went off 🔥 🚒',
    'line one\nline two\r\n\tindented',
  ])('accepts %s', (value) => {
    expect(textProblem(value)).toBeNull();
  });

  it('single-line fields also refuse line breaks and tabs', () => {
    expect(textProblem('INC-1\nINC-2', 'line')).not.toBeNull();
    expect(textProblem('INC-1\tx', 'line')).not.toBeNull();
    expect(textProblem('INC-1', 'line')).toBeNull();
  });

  it('encodeLinkComponent never throws, even on ill-formed text', () => {
    expect(() => encodeURIComponent('INC-78\ud800')).toThrow(URIError);
    expect(encodeLinkComponent('INC-78\ud800')).toBe('INC-78%EF%BF%BD');
    expect(encodeLinkComponent('a b/c')).toBe('a%20b%2Fc');
    expect(isWellFormed('🔥')).toBe(true);
  });
});

class RecordingSlack implements SlackApi {
  readonly delivers = true;
  readonly posts: Array<{ channel: string; message: SlackMessage }> = [];
  async postMessage(channel: string, message: SlackMessage): Promise<SlackMessageRef> {
    this.posts.push({ channel, message });
    return { channel, ts: '1.1' };
  }
  async updateMessage(): Promise<void> {}
  async userInfo() {
    return { email: null, deleted: false, isBot: false };
  }
}

describe('the emergency alert with hostile text stored before the rule', () => {
  it('is still posted, with a ticket link that does not throw', async () => {
    const config = {
      notifications: { slack: { channel: 'C0SEC', approveInSlack: false }, webhooks: [] },
      web: { ticketUrlTemplate: 'https://tickets.example.com/browse/{ticket}' },
      roles: [{ id: 'prod-admin' }],
    } as unknown as BreakglassConfig;
    const request = {
      id: 'req_01JD0000000000000000000000',
      roleId: 'prod-admin',
      accountId: '123456789012',
      requester: { subject: 'alice', email: 'alice@example.com' },
      reason: 'update \u202etxt.exe\u202c now',
      ticket: 'INC-78\ud800',
      emergency: true,
      durationMinutes: 60,
      status: 'active',
      approvalsRequired: 1,
      approvals: [],
      denial: null,
      revocation: null,
      cancellation: null,
      postReview: { dueAt: '2026-11-22T11:00:00.000Z', outcome: null, by: null, at: null, comment: null },
      createdAt: '2026-11-22T10:00:00.000Z',
    } as unknown as AccessRequest;
    const slack = new RecordingSlack();
    const recorded: AuditEventDraft[] = [];
    const notifier = new SlackNotifier({
      config,
      slack,
      markers: new MemoryMarkers(),
      logger: silentLogger,
      publicUrl: 'https://bg.example.com',
      recordEvents: async (drafts) => {
        recorded.push(...drafts);
      },
    });
    void notifier.afterChange(request, [{ type: 'emergency.activated' } as AuditEvent]);
    await notifier.idle();
    expect(slack.posts).toHaveLength(1);
    expect(JSON.stringify(slack.posts[0]?.message)).toContain('INC-78%EF%BF%BD');
    expect(recorded.map((event) => event.type)).toEqual(['notification.sent']);
  });
});
