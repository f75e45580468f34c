/** The few Slack Web API calls the broker makes, and the message shape they carry. */

export type Block = Record<string, unknown>;

export interface SlackMessage {
  /** Fallback and notification text; carries `<!here>` for emergencies. */
  text: string;
  blocks: Block[];
}

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

export interface SlackUser {
  /** The email on the Slack account (users.info profile.email); null when hidden or absent. */
  email: string | null;
  deleted: boolean;
  isBot: boolean;
}

export interface SlackApi {
  /** True when messages really reach Slack (false for the log-only twin). */
  readonly delivers: boolean;
  postMessage(channel: string, message: SlackMessage): Promise<SlackMessageRef>;
  updateMessage(ref: SlackMessageRef, message: SlackMessage): Promise<void>;
  userInfo(userId: string): Promise<SlackUser>;
}
