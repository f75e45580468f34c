import { bodyLimit } from 'hono/body-limit';
import type { App } from '../env.js';
import { problem } from '../problem.js';

export const SLACK_INTERACTIONS_PATH = '/slack/interactions';
/** block_actions payloads carry the original message (our blocks, URL-encoded): well under this. */
const MAX_SLACK_BODY_BYTES = 128 * 1024;

/**
 * POST /slack/interactions: Slack's button clicks. The signature is checked over the raw body before anything
 * is parsed; the answer goes back at once (Slack waits 3 s) and the decision is applied afterwards.
 */
export function registerSlackRoutes(app: App): void {
  app.post(
    SLACK_INTERACTIONS_PATH,
    bodyLimit({
      maxSize: MAX_SLACK_BODY_BYTES,
      onError: (c) =>
        problem(c, 'payload_too_large', `Slack payloads are limited to ${MAX_SLACK_BODY_BYTES} bytes`),
    }),
    async (c) => {
      const interactions = c.get('deps').slack;
      if (!interactions) return problem(c, 'not_found', 'Slack is not configured on this broker');
      const rawBody = await c.req.text();
      const timestamp = c.req.header('x-slack-request-timestamp');
      const signature = c.req.header('x-slack-signature');
      await interactions.receive({
        rawBody,
        ...(timestamp ? { timestamp } : {}),
        ...(signature ? { signature } : {}),
      });
      return c.body(null, 200);
    },
  );
}
