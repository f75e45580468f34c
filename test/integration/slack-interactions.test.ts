/**
 * Slack end to end inside the broker: messages posted and updated through an injected (mocked) Slack Web API
 * client, and signed button clicks against the real app on DynamoDB Local.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { ensureTable } from '../../api/adapters/dynamodb/table.js';
import { type SlackWebClient, WebApiSlack } from '../../api/adapters/slack/client.js';
import { type Broker, buildBroker } from '../../api/compose-http.js';
import type { Caller, CommittedEvent } from '../../api/domain/types.js';
import { silentLogger } from '../../api/ports/logger.js';
import type { TokenVerifier } from '../../api/ports/token-verifier.js';
import { ACTION_APPROVE, ACTION_DENY } from '../../api/services/notifications/slack-blocks.js';
import { signSlackRequest } from '../../api/services/notifications/slack-signature.js';
import { exampleConfig } from '../support/stack.js';

const SIGNING_SECRET = 'slack-signing-secret-for-tests-0123456789';
const TEAM = 'T0TEAM';
const SLACK_USERS: Record<string, string> = {
  U0BOB: 'bob@example.com',
  U0DAVE: 'dave@example.com',
  U0ALICE: 'alice@example.com',
  U0ERIN: 'erin@example.com',
};
const RESPONSE_URL = 'https://hooks.slack.com/actions/T0TEAM/1/abc';

const person = (name: string, groups: string[]): Caller => ({
  subject: name,
  email: `${name}@example.com`,
  groups,
  mfa: true,
  via: 'api',
});
const alice = person('alice', ['sre']);
const bob = person('bob', ['sre-leads']);

describe('Slack messages and signed interactions', () => {
  let broker: Broker;
  let client: {
    chat: { postMessage: ReturnType<typeof vi.fn>; update: ReturnType<typeof vi.fn> };
    users: { info: ReturnType<typeof vi.fn> };
  };
  let responses: Array<{ url: string; text: string }>;
  let now: Date;
  let counter = 0;

  beforeAll(async () => {
    const config = exampleConfig();
    config.notifications.slack = {
      channel: 'C0DEFAULT',
      approveInSlack: true,
      tokenEnv: 'SLACK_BOT_TOKEN',
      signingSecretEnv: 'BG_TEST_SLACK_SIGNING_SECRET',
    };
    for (const role of config.roles) role.approverUsers = ['bob@example.com', 'dave@example.com'];
    config.roles[1]!.slackChannel = 'C0READONLY';
    process.env.BG_TEST_SLACK_SIGNING_SECRET = SIGNING_SECRET;
    client = {
      chat: {
        postMessage: vi.fn(async ({ channel }: { channel: string }) => ({
          ok: true,
          channel,
          ts: `17000.${++counter}`,
        })),
        update: vi.fn(async () => ({ ok: true })),
      },
      users: {
        info: vi.fn(async ({ user }: { user: string }) => ({
          ok: true,
          user: { profile: { email: SLACK_USERS[user] } },
        })),
      },
    };
    const verifier: TokenVerifier = { verify: async () => alice };
    const tableName = `slack${Date.now().toString(36)}`;
    broker = buildBroker({
      config,
      logger: silentLogger,
      tableName,
      dynamodbEndpoint: inject('dynamodbEndpoint'),
      publicUrl: 'https://breakglass.example.com',
      verifier,
      clock: { now: () => now },
      slackApi: new WebApiSlack(client as unknown as SlackWebClient),
      fetch: (async (url: string, init: RequestInit) => {
        responses.push({ url, text: JSON.parse(String(init.body)).text });
        return new Response('ok');
      }) as unknown as typeof fetch,
    });
    await ensureTable(broker.dynamodb, tableName);
  });
  afterAll(() => {
    broker?.dynamodb.destroy();
    delete process.env.BG_TEST_SLACK_SIGNING_SECRET;
  });
  beforeEach(() => {
    now = new Date();
    responses = [];
    client.chat.postMessage.mockClear();
    client.chat.update.mockClear();
  });

  /** Post-commit effects start a turn after the commit (after the response): wait for them, then for Slack. */
  async function effectsDone() {
    await broker.requests.settled();
    await broker.notifications.idle();
  }

  async function create(roleId: string, extra: { emergency?: boolean } = {}) {
    const { request } = await broker.requests.create(alice, {
      roleId,
      durationMinutes: 60,
      reason: 'restore the cache cluster',
      ticket: 'INC-9',
      ...extra,
    });
    await effectsDone();
    return request.id;
  }

  function payload(user: string, actionId: string, requestId: string) {
    return `payload=${encodeURIComponent(
      JSON.stringify({
        type: 'block_actions',
        user: { id: user, team_id: TEAM },
        team: { id: TEAM },
        response_url: RESPONSE_URL,
        actions: [{ action_id: actionId, value: requestId, type: 'button' }],
      }),
    )}`;
  }

  async function click(
    body: string,
    options: { timestamp?: number; secret?: string; signature?: string } = {},
  ) {
    const timestamp = String(options.timestamp ?? Math.floor(now.getTime() / 1000));
    const response = await broker.app.request('/slack/interactions', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature':
          options.signature ?? signSlackRequest(options.secret ?? SIGNING_SECRET, timestamp, body),
      },
      body,
    });
    const text = await response.text();
    await effectsDone();
    return { status: response.status, code: text ? (JSON.parse(text) as { code?: string }).code : undefined };
  }

  /** The request's committed events (the timeline: sealed or not). */
  async function eventsFor(requestId: string): Promise<CommittedEvent[]> {
    return broker.store.requestEvents(requestId);
  }

  it('posts an approval message to the role’s channel, and a correctly signed approve by a listed approver works', async () => {
    const id = await create('prod-readonly');
    expect(client.chat.postMessage).toHaveBeenCalledTimes(1);
    const posted = client.chat.postMessage.mock.calls[0]![0] as {
      channel: string;
      blocks: unknown[];
      text: string;
    };
    expect(posted.channel).toBe('C0READONLY');
    expect(JSON.stringify(posted.blocks)).toContain(ACTION_APPROVE);

    const answer = await click(payload('U0BOB', ACTION_APPROVE, id));
    expect(answer.status).toBe(200);
    const request = await broker.store.getRequest(id);
    expect(request?.status).toBe('active');
    expect(request?.approvals).toEqual([
      expect.objectContaining({
        via: 'slack',
        approver: expect.objectContaining({ email: 'bob@example.com' }),
      }),
    ]);
    expect(client.users.info).toHaveBeenCalledWith({ user: 'U0BOB' });
    // The same message is updated in place: now active, without decision buttons.
    const updates = client.chat.update.mock.calls.map(
      (call) => call[0] as { channel: string; ts: string; blocks: unknown[] },
    );
    expect(updates.length).toBeGreaterThan(0);
    const last = updates.at(-1)!;
    expect(last).toMatchObject({ channel: 'C0READONLY', ts: expect.stringMatching(/^17000\./) });
    expect(JSON.stringify(last.blocks)).toContain('Active');
    expect(JSON.stringify(last.blocks)).not.toContain(ACTION_APPROVE);
    expect(responses.at(-1)?.text).toContain('now active');
    const types = (await eventsFor(id)).map((event) => event.type);
    expect(types).toEqual(
      expect.arrayContaining(['notification.sent', 'approval.recorded', 'grant.activated']),
    );

    // Later transitions update it too: revoked.
    client.chat.update.mockClear();
    await broker.requests.revoke(bob, id, 'done');
    await effectsDone();
    expect(
      JSON.stringify((client.chat.update.mock.calls.at(-1)![0] as { blocks: unknown }).blocks),
    ).toContain('Revoked');
  });

  it('refuses a bad signature and a stale timestamp before anything else (401)', async () => {
    const id = await create('prod-readonly');
    const body = payload('U0BOB', ACTION_APPROVE, id);
    expect(await click(body, { secret: 'not-the-secret' })).toEqual({
      status: 401,
      code: 'invalid_signature',
    });
    expect(await click(body, { signature: 'v0=deadbeef' })).toEqual({
      status: 401,
      code: 'invalid_signature',
    });
    expect(await click(body, { timestamp: Math.floor(now.getTime() / 1000) - 301 })).toEqual({
      status: 401,
      code: 'stale_request',
    });
    expect((await broker.store.getRequest(id))?.approvals).toHaveLength(0);
  });

  it('refuses a replayed delivery (409) and applies the decision only once', async () => {
    const id = await create('prod-admin');
    const body = payload('U0BOB', ACTION_APPROVE, id);
    const timestamp = Math.floor(now.getTime() / 1000);
    expect((await click(body, { timestamp })).status).toBe(200);
    expect(await click(body, { timestamp })).toEqual({ status: 409, code: 'replayed_request' });
    expect((await broker.store.getRequest(id))?.approvals).toHaveLength(1);
  });

  it('a double click (a second, freshly signed click) does not count twice', async () => {
    const id = await create('prod-admin');
    expect((await click(payload('U0BOB', ACTION_APPROVE, id))).status).toBe(200);
    now = new Date(now.getTime() + 1000);
    expect((await click(payload('U0BOB', ACTION_APPROVE, id))).status).toBe(200);
    const request = await broker.store.getRequest(id);
    expect(request?.approvals).toHaveLength(1);
    expect(request?.status).toBe('pending');
    expect(responses.at(-1)?.text).toContain('already_approved');
  });

  it('accepts Slack’s large payloads (they embed the whole message) beyond the API’s 16 KB body limit', async () => {
    const id = await create('prod-admin');
    const body = `${payload('U0BOB', ACTION_APPROVE, id)}&padding=${'x'.repeat(40_000)}`;
    expect((await click(body)).status).toBe(200);
    expect((await broker.store.getRequest(id))?.approvals).toHaveLength(1);
  });

  it('refuses an unknown action (400)', async () => {
    const id = await create('prod-readonly');
    expect(await click(payload('U0BOB', 'breakglass_delete_everything', id))).toEqual({
      status: 400,
      code: 'unknown_action',
    });
  });

  it('a Slack user not listed in approverUsers is refused and recorded as access.forbidden', async () => {
    const id = await create('prod-readonly');
    expect((await click(payload('U0ERIN', ACTION_APPROVE, id))).status).toBe(200);
    expect((await broker.store.getRequest(id))?.status).toBe('pending');
    const forbidden = (await eventsFor(id)).filter((event) => event.type === 'access.forbidden');
    expect(forbidden).toHaveLength(1);
    expect(forbidden[0]).toMatchObject({
      actor: { email: 'erin@example.com', via: 'slack' },
      data: { action: 'slack.approve', code: 'not_approver' },
    });
    expect(responses.at(-1)?.text).toContain('not_approver');
  });

  it('the requester cannot approve her own request from Slack (self_approval, recorded)', async () => {
    const id = await create('prod-readonly');
    expect((await click(payload('U0ALICE', ACTION_APPROVE, id))).status).toBe(200);
    expect((await broker.store.getRequest(id))?.status).toBe('pending');
    const forbidden = (await eventsFor(id)).filter((event) => event.type === 'access.forbidden');
    expect(forbidden.map((event) => event.data.code)).toEqual(['self_approval']);
  });

  it('a decision on a request that is no longer pending changes nothing and refreshes the message', async () => {
    const id = await create('prod-readonly');
    await click(payload('U0DAVE', ACTION_DENY, id));
    expect((await broker.store.getRequest(id))?.status).toBe('denied');
    client.chat.update.mockClear();
    now = new Date(now.getTime() + 1000);
    expect((await click(payload('U0BOB', ACTION_APPROVE, id))).status).toBe(200);
    const request = await broker.store.getRequest(id);
    expect(request?.status).toBe('denied');
    expect(request?.approvals).toHaveLength(0);
    expect(responses.at(-1)?.text).toContain('invalid_state');
    expect(client.chat.update).toHaveBeenCalled();
    // Not a security event: nobody overstepped their rights.
    expect((await eventsFor(id)).filter((event) => event.type === 'access.forbidden')).toHaveLength(0);
  });

  it('an emergency activation is posted with an @here alert', async () => {
    await create('prod-admin', { emergency: true });
    const posted = client.chat.postMessage.mock.calls.at(-1)![0] as { text: string; channel: string };
    expect(posted.channel).toBe('C0DEFAULT');
    expect(posted.text.startsWith('<!here>')).toBe(true);
  });
});
