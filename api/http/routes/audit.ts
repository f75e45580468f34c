import { createRoute, z } from '@hono/zod-openapi';
import { stream } from 'hono/streaming';
import type { App } from '../env.js';
import { jsonResponse, problemResponses } from '../schemas.js';

const EventsQuery = z.object({
  format: z.enum(['jsonl']).default('jsonl'),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  fromSeq: z.coerce.number().int().min(1).optional(),
});

const eventsRoute = createRoute({
  method: 'get',
  path: '/v1/audit/events',
  tags: ['audit'],
  description: 'The audit events as stored, one JSON object per line, in seq order. Auditors only.',
  request: { query: EventsQuery },
  responses: {
    200: { description: 'JSON Lines', content: { 'application/x-ndjson': { schema: z.string() } } },
    ...problemResponses,
  },
});

const VerifySchema = z
  .union([
    z.object({
      ok: z.literal(true),
      events: z.number(),
      firstSeq: z.number().nullable(),
      lastSeq: z.number(),
      lastHash: z.string(),
    }),
    z.object({
      ok: z.literal(false),
      events: z.number(),
      firstBadSeq: z.number(),
      reason: z.string(),
      detail: z.string(),
    }),
  ])
  .openapi('VerifyResult');

const verifyRoute = createRoute({
  method: 'get',
  path: '/v1/audit/verify',
  tags: ['audit'],
  description: 'Walks the stored hash chain and reports the first broken seq, if any. Auditors only.',
  responses: { 200: jsonResponse(VerifySchema, 'Verification result'), ...problemResponses },
});

export function registerAuditRoutes(app: App): void {
  app.openapi(eventsRoute, async (c) => {
    const query = c.req.valid('query');
    const events = await c.get('deps').audit.events(c.get('caller'), {
      ...(query.since ? { since: new Date(query.since).toISOString() } : {}),
      ...(query.until ? { until: new Date(query.until).toISOString() } : {}),
      ...(query.fromSeq ? { fromSeq: query.fromSeq } : {}),
    });
    c.header('content-type', 'application/x-ndjson; charset=utf-8');
    c.header('content-disposition', 'attachment; filename="breakglass-audit.jsonl"');
    return stream(c, async (out) => {
      let buffer = '';
      for await (const event of events) {
        buffer += `${JSON.stringify(event)}\n`;
        if (buffer.length > 64 * 1024) {
          await out.write(buffer);
          buffer = '';
        }
      }
      if (buffer) await out.write(buffer);
    }) as never;
  });

  app.openapi(verifyRoute, async (c) => {
    const result = await c.get('deps').audit.verify(c.get('caller'));
    return c.json(result, 200);
  });
}
