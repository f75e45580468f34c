/** Slack request signing (v0): HMAC-SHA256 over `v0:${timestamp}:${rawBody}`, hex, prefixed `v0=`. */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's own guidance: refuse requests whose timestamp is more than five minutes from now. */
export const SLACK_MAX_SKEW_SECONDS = 300;

export function signSlackRequest(secret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export type SlackVerdict = { ok: true } | { ok: false; code: 'invalid_signature' | 'stale_request' };

/** Checks the timestamp window first (cheap), then the signature in constant time. */
export function verifySlackRequest(input: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: string;
  nowSeconds: number;
}): SlackVerdict {
  const { timestamp, signature } = input;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || !signature)
    return { ok: false, code: 'invalid_signature' };
  if (Math.abs(input.nowSeconds - Number(timestamp)) > SLACK_MAX_SKEW_SECONDS) {
    return { ok: false, code: 'stale_request' };
  }
  const expected = Buffer.from(signSlackRequest(input.secret, timestamp, input.rawBody));
  const offered = Buffer.from(signature);
  if (expected.length !== offered.length || !timingSafeEqual(expected, offered)) {
    return { ok: false, code: 'invalid_signature' };
  }
  return { ok: true };
}
