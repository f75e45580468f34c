/**
 * Slack's Web API over fetch: the three methods the broker calls (chat.postMessage, chat.update, users.info), sent
 * the way @slack/web-api's WebClient sends them — a form-encoded POST with the bot token as a bearer header,
 * objects as JSON strings — with its retry rules: a network error, a timeout or a status other than 200 is
 * retried after 1 s, 2 s, …; a 429 after the seconds its Retry-After header names; a reply with `ok: false` is
 * Slack's answer and is not retried. WebClient (~65 KiB with its queue and retry packages) did this for three
 * calls in every function that may post.
 */
import type { SlackWebClient } from './client.js';

export interface SlackWebApiOptions {
  /** Retries after the first attempt (WebClient's `retryConfig.retries`). */
  retries?: number;
  /** Per attempt, in milliseconds. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Waits between attempts (tests pass one that does not). */
  sleep?: (ms: number) => Promise<void>;
  apiUrl?: string;
}

/** Slack answered `ok: false`; shaped like WebClient's platform error, so `data.error` is Slack's code. */
export class SlackPlatformError extends Error {
  readonly code = 'slack_webapi_platform_error';

  constructor(readonly data: { ok?: boolean; error?: string }) {
    super(`An API error occurred: ${data.error ?? 'unknown'}`);
    this.name = 'SlackPlatformError';
  }
}

/** A request that got no usable HTTP answer: Slack's status, or why there was none. */
export class SlackRequestError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SlackRequestError';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The form body WebClient sends: strings, numbers and booleans as they are, anything else as JSON. */
function formBody(args: Record<string, unknown>): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined || value === null) continue;
    const scalar = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
    form.append(key, scalar ? String(value) : JSON.stringify(value));
  }
  return form.toString();
}

/** A SlackWebClient that calls Slack's Web API with `token`. */
export function slackWebApi(token: string, options: SlackWebApiOptions = {}): SlackWebClient {
  const retries = options.retries ?? 2;
  const timeoutMs = options.timeoutMs ?? 5000;
  const sleep = options.sleep ?? defaultSleep;
  const apiUrl = options.apiUrl ?? 'https://slack.com/api/';

  async function attempt(method: string, body: string): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await (options.fetch ?? fetch)(`${apiUrl}${method}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new SlackRequestError(`${method}: request failed`, undefined, { cause: error });
    }
    if (response.status === 429) {
      const seconds = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
      if (Number.isNaN(seconds)) throw new SlackPlatformError({ ok: false, error: 'ratelimited' });
      throw new SlackRequestError(`${method}: rate limited`, seconds);
    }
    if (response.status !== 200) throw new SlackRequestError(`${method}: HTTP ${response.status}`);
    return (await response.json()) as Record<string, unknown>;
  }

  async function call<T>(method: string, args: Record<string, unknown>): Promise<T> {
    const body = formBody(args);
    for (let attemptNo = 0; ; attemptNo++) {
      try {
        const result = await attempt(method, body);
        if (result.ok !== true) throw new SlackPlatformError(result as { error?: string });
        return result as T;
      } catch (error) {
        if (!(error instanceof SlackRequestError) || attemptNo >= retries) throw error;
        await sleep((error.retryAfterSeconds ?? 0) * 1000 + 1000 * 2 ** attemptNo);
      }
    }
  }

  return {
    chat: {
      postMessage: (args) => call('chat.postMessage', args),
      update: (args) => call('chat.update', args),
    },
    users: { info: (args) => call('users.info', args) },
  };
}
