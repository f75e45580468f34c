/** The few Slack Web API calls the broker makes, behind a small interface with a log-only twin. */
import type { Logger } from '../../ports/logger.js';
import type { SlackApi, SlackMessage, SlackMessageRef, SlackUser } from '../../ports/slack.js';

/** The subset of Slack's Web API used here (`slackWebApi`, or WebClient's shape), so tests can hand in mocks. */
export interface SlackWebClient {
  chat: {
    postMessage(args: {
      channel: string;
      text: string;
      blocks: unknown[];
      unfurl_links?: boolean;
    }): Promise<{ ok?: boolean; channel?: string; ts?: string; error?: string }>;
    update(args: {
      channel: string;
      ts: string;
      text: string;
      blocks: unknown[];
    }): Promise<{ ok?: boolean; error?: string }>;
  };
  users: {
    info(args: { user: string }): Promise<{
      ok?: boolean;
      user?: { deleted?: boolean; is_bot?: boolean; profile?: { email?: string } };
    }>;
  };
}

/**
 * SlackApi over an injected Web API client (chat.postMessage, chat.update, users.info): `slackWebApi`, or a mock.
 * The client may also be given as a loader, called on the first Slack call.
 */
export class WebApiSlack implements SlackApi {
  readonly delivers = true;
  private loaded: Promise<SlackWebClient> | null = null;

  constructor(private readonly source: SlackWebClient | (() => Promise<SlackWebClient>)) {}

  private get client(): Promise<SlackWebClient> {
    const source = this.source;
    this.loaded ??= typeof source === 'function' ? source() : Promise.resolve(source);
    this.loaded.catch(() => {
      this.loaded = null;
    });
    return this.loaded;
  }

  /** Posts a message; returns where it landed so it can be updated later. */
  async postMessage(channel: string, message: SlackMessage): Promise<SlackMessageRef> {
    const result = await (await this.client).chat.postMessage({
      channel,
      text: message.text,
      blocks: message.blocks,
      unfurl_links: false,
    });
    if (!result.ok || !result.channel || !result.ts) {
      throw new Error(`chat.postMessage failed: ${result.error ?? 'no ts in the response'}`);
    }
    return { channel: result.channel, ts: result.ts };
  }

  /** Replaces an earlier message's content. */
  async updateMessage(ref: SlackMessageRef, message: SlackMessage): Promise<void> {
    const result = await (await this.client).chat.update({
      ...ref,
      text: message.text,
      blocks: message.blocks,
    });
    if (!result.ok) throw new Error(`chat.update failed: ${result.error ?? 'unknown error'}`);
  }

  /** Looks a user up; the email comes from Slack, never from the interaction payload. */
  async userInfo(userId: string): Promise<SlackUser> {
    const result = await (await this.client).users.info({ user: userId });
    const user = result.user;
    return {
      email: typeof user?.profile?.email === 'string' ? user.profile.email.toLowerCase() : null,
      deleted: user?.deleted === true,
      isBot: user?.is_bot === true,
    };
  }
}

/** Without a bot token (the local stack) messages go to the log, clearly marked as not sent. */
export class LogOnlySlack implements SlackApi {
  readonly delivers = false;
  private counter = 0;

  constructor(private readonly logger: Logger) {}

  async postMessage(channel: string, message: SlackMessage): Promise<SlackMessageRef> {
    this.counter += 1;
    const ts = `local.${this.counter}`;
    // The whole Block Kit payload, so what Slack would show can be checked (and pasted into Block Kit Builder).
    this.logger.info(
      { slack: 'NOT SENT (no Slack token)', channel, text: message.text, blocks: message.blocks },
      'slack message',
    );
    return { channel, ts };
  }

  async updateMessage(ref: SlackMessageRef, message: SlackMessage): Promise<void> {
    this.logger.info(
      {
        slack: 'NOT SENT (no Slack token)',
        channel: ref.channel,
        ts: ref.ts,
        text: message.text,
        blocks: message.blocks,
      },
      'slack message update',
    );
  }

  async userInfo(): Promise<SlackUser> {
    return { email: null, deleted: false, isBot: false };
  }
}
