/** Slack's Web API over fetch: what goes on the wire, Slack's errors, and WebClient's retry rules (no network). */
import { describe, expect, it } from 'vitest';
import { WebApiSlack } from '../../api/adapters/slack/client.js';
import { SlackPlatformError, slackWebApi } from '../../api/adapters/slack/web-api.js';
import { describe as describeError } from '../../api/services/notifications/slack-notifier.js';

interface Sent {
  url: string;
  headers: Record<string, string>;
  form: Record<string, string>;
}

/** A fetch that answers from `replies` in turn and records each request; a thrown reply is a network error. */
function fakeSlack(replies: Array<Response | Error>) {
  const sent: Sent[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    sent.push({
      url,
      headers: init.headers as Record<string, string>,
      form: Object.fromEntries(new URLSearchParams(String(init.body))),
    });
    const reply = replies.shift();
    if (!reply) throw new Error('no reply left');
    if (reply instanceof Error) throw reply;
    return reply;
  }) as unknown as typeof globalThis.fetch;
  return { fetch, sent };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('slackWebApi', () => {
  it('posts a form-encoded call with the bot token as a bearer header and the blocks as JSON', async () => {
    const { fetch, sent } = fakeSlack([json({ ok: true, channel: 'C1', ts: '1.2' })]);
    const slack = new WebApiSlack(slackWebApi('xoxb-test', { fetch }));
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }];
    expect(await slack.postMessage('C1', { text: 'hi', blocks })).toEqual({ channel: 'C1', ts: '1.2' });
    expect(sent).toEqual([
      {
        url: 'https://slack.com/api/chat.postMessage',
        headers: expect.objectContaining({
          authorization: 'Bearer xoxb-test',
          'content-type': 'application/x-www-form-urlencoded',
        }),
        form: { channel: 'C1', text: 'hi', blocks: JSON.stringify(blocks), unfurl_links: 'false' },
      },
    ]);
    expect(sent[0]!.form).not.toHaveProperty('token');
  });

  it('reads users.info and chat.update the same way', async () => {
    const { fetch, sent } = fakeSlack([
      json({ ok: true, user: { deleted: false, is_bot: false, profile: { email: 'Bob@Example.com' } } }),
      json({ ok: true }),
    ]);
    const slack = new WebApiSlack(slackWebApi('xoxb-test', { fetch }));
    expect(await slack.userInfo('U1')).toEqual({ email: 'bob@example.com', deleted: false, isBot: false });
    await slack.updateMessage({ channel: 'C1', ts: '1.2' }, { text: 't', blocks: [] });
    expect(sent.map((call) => [call.url, call.form])).toEqual([
      ['https://slack.com/api/users.info', { user: 'U1' }],
      ['https://slack.com/api/chat.update', { channel: 'C1', ts: '1.2', text: 't', blocks: '[]' }],
    ]);
  });

  it("raises Slack's own error code without retrying it, so the audit names it", async () => {
    const { fetch, sent } = fakeSlack([json({ ok: false, error: 'channel_not_found' })]);
    const client = slackWebApi('xoxb-test', { fetch, sleep: async () => undefined });
    const failure = await client.chat
      .postMessage({ channel: 'C9', text: 'x', blocks: [] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SlackPlatformError);
    expect((failure as SlackPlatformError).code).toBe('slack_webapi_platform_error');
    expect(describeError(failure)).toBe('channel_not_found');
    expect(sent).toHaveLength(1);
  });

  it('retries network errors and non-200 answers after 1 s, then 2 s, and gives up after `retries`', async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    const recovering = fakeSlack([new TypeError('fetch failed'), json({}, 502), json({ ok: true })]);
    await slackWebApi('t', { fetch: recovering.fetch, sleep, retries: 2 }).chat.update({
      channel: 'C1',
      ts: '1',
      text: 'x',
      blocks: [],
    });
    expect(recovering.sent).toHaveLength(3);
    expect(waits).toEqual([1000, 2000]);

    const down = fakeSlack([json({}, 503), json({}, 503), json({}, 503), json({ ok: true })]);
    await expect(
      slackWebApi('t', { fetch: down.fetch, sleep, retries: 2 }).users.info({ user: 'U1' }),
    ).rejects.toThrow(/HTTP 503/);
    expect(down.sent).toHaveLength(3);
  });

  it('waits out a 429 for the seconds Slack names before retrying', async () => {
    const waits: number[] = [];
    const { fetch, sent } = fakeSlack([json({ ok: false }, 429, { 'retry-after': '7' }), json({ ok: true })]);
    await slackWebApi('t', { fetch, sleep: async (ms) => void waits.push(ms) }).users.info({ user: 'U1' });
    expect(sent).toHaveLength(2);
    expect(waits).toEqual([8000]);
  });

  it('abandons an attempt that outlives its timeout', async () => {
    // A Slack that never answers: only the attempt's own abort signal ends the call.
    const fetch = ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) => {
        init.signal!.addEventListener('abort', () => reject(init.signal!.reason));
      })) as unknown as typeof globalThis.fetch;
    const failure = await slackWebApi('t', { fetch, timeoutMs: 1, retries: 0 })
      .users.info({ user: 'U1' })
      .catch((error: unknown) => error);
    expect((failure as Error).message).toBe('users.info: request failed');
    expect(((failure as Error).cause as Error).name).toBe('TimeoutError');
  });
});
