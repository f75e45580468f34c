import { createRoute, z } from '@hono/zod-openapi';
import { DomainError } from '../../domain/errors.js';
import { REQUEST_STATUSES } from '../../domain/types.js';
import type { App } from '../env.js';
import { presentRequest } from '../present.js';
import {
  CreateRequestBody,
  IDEMPOTENCY_KEY_PATTERN,
  jsonBody,
  jsonResponse,
  MAX_DURATION_MINUTES,
  problemResponses,
  RequestIdParam,
  RequestSchema,
} from '../schemas.js';

export { MAX_DURATION_MINUTES };

const IDEMPOTENCY_KEY_RULE = 'must be 8-128 letters, digits, dashes or underscores';

/**
 * The Idempotency-Key header, documented as a parameter and checked on its own. A zod `headers` schema would do
 * the same check, but its validator reads every header of the call, and on the Node server that turns the
 * request's lightweight headers into a full `Headers` object (about a tenth of a millisecond per create).
 */
const idempotencyKeyParameter = {
  in: 'header' as const,
  name: 'Idempotency-Key',
  required: false,
  description: 'Retrying with the same key returns the first result instead of a second request',
  schema: { type: 'string' as const, pattern: IDEMPOTENCY_KEY_PATTERN.source },
};

const createRequestRoute = createRoute({
  method: 'post',
  path: '/v1/requests',
  tags: ['requests'],
  parameters: [idempotencyKeyParameter],
  request: { body: jsonBody(CreateRequestBody) },
  responses: {
    201: jsonResponse(RequestSchema, 'Created'),
    200: jsonResponse(RequestSchema, 'Replayed: the request created earlier with this Idempotency-Key'),
    ...problemResponses,
  },
});

const booleanQuery = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1')
  .optional();

const ListQuery = z.object({
  status: z.enum(REQUEST_STATUSES).optional(),
  role: z.string().max(64).optional(),
  mine: booleanQuery,
  approvable: booleanQuery,
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(2048).optional(),
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/requests',
  tags: ['requests'],
  request: { query: ListQuery },
  responses: {
    200: jsonResponse(
      z.object({ items: z.array(RequestSchema), nextCursor: z.string().nullable() }),
      'Requests the caller may see',
    ),
    ...problemResponses,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/requests/{id}',
  tags: ['requests'],
  request: { params: RequestIdParam },
  responses: { 200: jsonResponse(RequestSchema, 'The request'), ...problemResponses },
});

export function registerRequestRoutes(app: App): void {
  app.openapi(createRequestRoute, async (c) => {
    const { requests, publicUrl } = c.get('deps');
    const body = c.req.valid('json');
    const key = c.req.header('idempotency-key');
    if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new DomainError('validation_failed', `idempotency-key: ${IDEMPOTENCY_KEY_RULE}`, {
        errors: [{ path: 'idempotency-key', message: IDEMPOTENCY_KEY_RULE }],
      });
    }
    const { request, replayed } = await requests.create(
      c.get('caller'),
      {
        roleId: body.roleId,
        durationMinutes: body.durationMinutes,
        reason: body.reason,
        ticket: body.ticket ?? null,
        startAt: body.startAt ?? null,
        emergency: body.emergency ?? false,
      },
      key,
    );
    c.header('location', `/v1/requests/${request.id}`);
    if (replayed) {
      c.header('idempotent-replayed', 'true');
      return c.json(presentRequest(request, publicUrl), 200);
    }
    return c.json(presentRequest(request, publicUrl), 201);
  });

  app.openapi(listRoute, async (c) => {
    const { requests, publicUrl } = c.get('deps');
    const query = c.req.valid('query');
    const page = await requests.list(c.get('caller'), {
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.role ? { roleId: query.role } : {}),
      ...(query.mine ? { mine: true } : {}),
      ...(query.approvable ? { approvable: true } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return c.json(
      { items: page.items.map((item) => presentRequest(item, publicUrl)), nextCursor: page.nextCursor },
      200,
    );
  });

  app.openapi(getRoute, async (c) => {
    const { requests, publicUrl } = c.get('deps');
    const request = await requests.get(c.get('caller'), c.req.valid('param').id);
    return c.json(presentRequest(request, publicUrl), 200);
  });
}
