import { createRoute, type z } from '@hono/zod-openapi';
import type { AccessRequest, Caller } from '../../domain/types.js';
import type { RequestService } from '../../services/request-service.js';
import type { App } from '../env.js';
import { presentRequest } from '../present.js';
import {
  DECISION_BODIES,
  jsonBody,
  jsonResponse,
  problemResponses,
  RequestIdParam,
  RequestSchema,
} from '../schemas.js';

const bodies = DECISION_BODIES;

type Action = keyof typeof bodies;

type Handler<A extends Action> = (
  service: RequestService,
  caller: Caller,
  id: string,
  body: z.infer<(typeof bodies)[A]>,
) => Promise<AccessRequest>;

const handlers: { [A in Action]: Handler<A> } = {
  approve: (s, caller, id, body) => s.approve(caller, id, body.comment ?? null),
  deny: (s, caller, id, body) => s.deny(caller, id, body.comment),
  cancel: (s, caller, id) => s.cancel(caller, id),
  revoke: (s, caller, id, body) => s.revoke(caller, id, body.reason),
  extend: (s, caller, id, body) => s.extend(caller, id, body),
  review: (s, caller, id, body) => s.review(caller, id, body),
};

const descriptions: Record<Action, string> = {
  approve: 'Approve a pending request (or a pending extension). Never your own; never twice.',
  deny: 'Deny a pending request (or a pending extension) with a comment.',
  cancel: 'The requester withdraws a request that has not started.',
  revoke: 'End an approved or active grant early: the requester, approvers of the role or admins.',
  extend: 'The requester asks for more time on an active grant; it needs the same approvals.',
  review: 'Record the mandatory post-review of an emergency grant.',
};

export function registerDecisionRoutes(app: App): void {
  for (const action of Object.keys(bodies) as Action[]) {
    const route = createRoute({
      method: 'post',
      path: `/v1/requests/{id}/${action}`,
      tags: ['decisions'],
      description: descriptions[action],
      request: {
        params: RequestIdParam,
        body:
          action === 'cancel' || action === 'approve'
            ? { ...jsonBody(bodies[action]), required: false }
            : jsonBody(bodies[action]),
      },
      responses: { 200: jsonResponse(RequestSchema, 'The request after the change'), ...problemResponses },
    });
    app.openapi(route, async (c) => {
      const { requests, publicUrl } = c.get('deps');
      const body = (c.req.valid('json') ?? {}) as never;
      const handler = handlers[action] as Handler<Action>;
      const request = await handler(requests, c.get('caller'), c.req.valid('param').id, body);
      return c.json(presentRequest(request, publicUrl), 200);
    });
  }
}
