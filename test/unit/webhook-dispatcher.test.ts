import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, AuditEventDraft } from '../../api/domain/types.js';
import { silentLogger } from '../../api/ports/logger.js';
import {
  redactUrl,
  signWebhook,
  WebhookDispatcher,
  type WebhookTarget,
} from '../../api/services/notifications/webhook-dispatcher.js';

type Verify = (headers: Record<string, string>, body: string, secret: string, now?: number) => boolean;

const NOW = new Date('2026-11-22T10:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const SECRET = 'whsec-0123456789abcdef0123456789abcdef';

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    seq: 7,
    id: 'evt_01JD0000000000000000000000',
    time: NOW.toISOString(),
    type: 'request.approved',
    actor: { type: 'user', subject: 'bob', email: 'bob@example.com', via: 'web' },
    requestId: 'req_01JD0000000000000000000000',
    roleId: 'prod-admin',
    accountId: '123456789012',
    data: { approvals: 2 },
    simulated: true,
    prevHash: 'a'.repeat(64),
    hash: 'b'.repeat(64),
    ...overrides,
  };
}

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: string;
}

function harness(
  options: { statuses?: Array<number | Error>; hooks?: WebhookTarget[]; maxAttempts?: number } = {},
) {
  const sent: Sent[] = [];
  const recorded: AuditEventDraft[] = [];
  const delays: number[] = [];
  const statuses = [...(options.statuses ?? [])];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    sent.push({ url, headers: init.headers as Record<string, string>, body: String(init.body) });
    const next = statuses.shift() ?? 204;
    if (next instanceof Error) throw next;
    return new Response(null, { status: next });
  }) as unknown as typeof fetch;
  const dispatcher = new WebhookDispatcher({
    hooks: options.hooks ?? [{ url: 'https://siem.example.com/hook?token=abc', secret: SECRET }],
    logger: silentLogger,
    clock: { now: () => NOW },
    recordEvents: async (events) => {
      recorded.push(...events);
    },
    fetchImpl,
    sleep: async (ms) => {
      delays.push(ms);
    },
    maxAttempts: options.maxAttempts ?? 4,
    baseDelayMs: 100,
  });
  return { dispatcher, sent, recorded, delays };
}

describe('the verification example in docs/webhooks.md', () => {
  let verify: Verify;
  beforeAll(async () => {
    const doc = readFileSync(join(process.cwd(), 'docs', 'webhooks.md'), 'utf8');
    const block = /```js verify-webhook\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block, 'docs/webhooks.md has a ```js verify-webhook block').toBeTruthy();
    const file = join(mkdtempSync(join(tmpdir(), 'bg-doc-')), 'verify-webhook.mjs');
    writeFileSync(file, block!);
    verify = ((await import(pathToFileURL(file).href)) as { verifyBreakglassWebhook: Verify })
      .verifyBreakglassWebhook;
  });

  it('accepts a real delivery and refuses tampering, a wrong secret and a stale timestamp', async () => {
    const { dispatcher, sent } = harness();
    await dispatcher.dispatch([event()]);
    expect(sent).toHaveLength(1);
    const [delivery] = sent;
    const headers = delivery!.headers;
    expect(verify(headers, delivery!.body, SECRET, NOW_SECONDS)).toBe(true);
    expect(
      verify(headers, delivery!.body.replace('"approvals":2', '"approvals":3'), SECRET, NOW_SECONDS),
    ).toBe(false);
    expect(verify(headers, delivery!.body, `${SECRET}x`, NOW_SECONDS)).toBe(false);
    expect(verify(headers, delivery!.body, SECRET, NOW_SECONDS + 301)).toBe(false);
    expect(
      verify({ ...headers, 'x-breakglass-signature': 'sha256=00' }, delivery!.body, SECRET, NOW_SECONDS),
    ).toBe(false);
  });
});

describe('WebhookDispatcher', () => {
  it('sends the stored event as JSON with event, delivery, timestamp and signature headers', async () => {
    const { dispatcher, sent } = harness();
    const original = event();
    await dispatcher.dispatch([original]);
    const [delivery] = sent;
    expect(JSON.parse(delivery!.body)).toEqual(original);
    expect(delivery!.headers).toMatchObject({
      'content-type': 'application/json',
      'x-breakglass-event': 'request.approved',
      'x-breakglass-delivery': original.id,
      'x-breakglass-timestamp': String(NOW_SECONDS),
      'x-breakglass-signature': signWebhook(SECRET, String(NOW_SECONDS), delivery!.body),
    });
    expect(delivery!.headers['x-breakglass-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('retries server errors and network failures with growing backoff, then succeeds without recording', async () => {
    const { dispatcher, sent, recorded, delays } = harness({ statuses: [503, new Error('ECONNRESET'), 200] });
    await dispatcher.dispatch([event()]);
    expect(sent).toHaveLength(3);
    expect(recorded).toEqual([]);
    expect(delays).toHaveLength(2);
    // Jittered exponential backoff: attempt n waits within [base·2ⁿ⁻¹/2, base·2ⁿ⁻¹].
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[0]).toBeLessThanOrEqual(100);
    expect(delays[1]).toBeGreaterThanOrEqual(100);
    expect(delays[1]).toBeLessThanOrEqual(200);
  });

  it('gives up after maxAttempts and records notification.failed with a redacted target', async () => {
    const { dispatcher, sent, recorded } = harness({ statuses: [500, 500, 500, 500, 500] });
    await dispatcher.dispatch([event()]);
    expect(sent).toHaveLength(4);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      type: 'notification.failed',
      requestId: 'req_01JD0000000000000000000000',
      data: {
        channel: 'webhook',
        target: 'https://siem.example.com/hook',
        eventId: expect.stringMatching(/^evt_/),
        eventType: 'request.approved',
        error: 'HTTP 500',
      },
    });
    expect(JSON.stringify(recorded)).not.toContain('token=abc');
    expect(JSON.stringify(recorded)).not.toContain(SECRET);
  });

  it('does not retry a 4xx that retrying cannot fix, but does retry 429', async () => {
    const final = harness({ statuses: [400] });
    await final.dispatcher.dispatch([event()]);
    expect(final.sent).toHaveLength(1);
    expect(final.recorded).toHaveLength(1);
    const limited = harness({ statuses: [429, 204] });
    await limited.dispatcher.dispatch([event()]);
    expect(limited.sent).toHaveLength(2);
    expect(limited.recorded).toHaveLength(0);
  });

  it('never sends its own failure reports (no loop), but does send Slack delivery results', async () => {
    const { dispatcher, sent } = harness();
    await dispatcher.dispatch([
      event({ type: 'notification.failed', data: { channel: 'webhook', eventSeq: 6 } }),
      event({ type: 'notification.failed', seq: 8, data: { channel: 'slack' } }),
    ]);
    expect(sent.map((s) => JSON.parse(s.body).seq)).toEqual([8]);
  });

  it('sends only the configured event types to a filtered hook, every type to the others', async () => {
    const { dispatcher, sent } = harness({
      hooks: [
        { url: 'https://all.example.com/', secret: SECRET },
        { url: 'https://oncall.example.com/', secret: SECRET, events: ['emergency.activated'] },
      ],
    });
    await dispatcher.dispatch([event(), event({ type: 'emergency.activated', seq: 8 })]);
    expect(sent.filter((s) => s.url === 'https://all.example.com/')).toHaveLength(2);
    expect(
      sent.filter((s) => s.url === 'https://oncall.example.com/').map((s) => JSON.parse(s.body).type),
    ).toEqual(['emergency.activated']);
  });

  it('runs as a listener: afterChange and afterRecord both deliver, and idle() waits for them', async () => {
    const { dispatcher, sent } = harness({ statuses: [500, 204] });
    void dispatcher.afterRecord([event({ type: 'access.forbidden', seq: 9 })]);
    await dispatcher.idle();
    expect(sent).toHaveLength(2);
  });

  it('redacts credentials, query and fragment from URLs', () => {
    expect(redactUrl('https://user:pw@hooks.example.com/a/b?sig=1#x')).toBe('https://hooks.example.com/a/b');
  });
});
