import { createRoute, z } from '@hono/zod-openapi';
import { isAdmin, isApproverFor, isAuditor } from '../../domain/access.js';
import type { App } from '../env.js';
import { jsonResponse, problemResponses } from '../schemas.js';

const MeSchema = z
  .object({
    subject: z.string(),
    email: z.string(),
    groups: z.array(z.string()),
    mfa: z.boolean(),
    auditor: z.boolean(),
    admin: z.boolean(),
    canRequest: z.array(z.string()),
    canApprove: z.array(z.string()),
  })
  .openapi('Me');

const RoleSchema = z
  .object({
    id: z.string(),
    description: z.string(),
    accountId: z.string(),
    roleArn: z.string(),
    maxDurationMinutes: z.number().int(),
    defaultDurationMinutes: z.number().int(),
    approvalsRequired: z.number().int(),
    approverGroups: z.array(z.string()),
    ticket: z.object({ required: z.boolean(), pattern: z.string().nullable() }),
    emergencyAllowed: z.boolean(),
  })
  .openapi('Role');

const meRoute = createRoute({
  method: 'get',
  path: '/v1/me',
  tags: ['identity'],
  responses: {
    200: jsonResponse(MeSchema, 'The caller as the broker sees them'),
    401: problemResponses[401],
  },
});

const rolesRoute = createRoute({
  method: 'get',
  path: '/v1/roles',
  tags: ['identity'],
  responses: {
    200: jsonResponse(z.object({ roles: z.array(RoleSchema) }), 'Roles the caller may request'),
    401: problemResponses[401],
  },
});

export function registerMeRoutes(app: App): void {
  app.openapi(meRoute, (c) => {
    const caller = c.get('caller');
    const { config, requests } = c.get('deps');
    return c.json(
      {
        subject: caller.subject,
        email: caller.email,
        groups: caller.groups,
        mfa: caller.mfa,
        auditor: isAuditor(config, caller),
        admin: isAdmin(config, caller),
        canRequest: requests.requestableRoles(caller).map((role) => role.id),
        canApprove: config.roles.filter((role) => isApproverFor(role, caller)).map((role) => role.id),
      },
      200,
    );
  });

  app.openapi(rolesRoute, (c) => {
    const { requests } = c.get('deps');
    const roles = requests.requestableRoles(c.get('caller')).map((role) => ({
      id: role.id,
      description: role.description,
      accountId: role.accountId,
      roleArn: role.roleArn,
      maxDurationMinutes: role.maxDuration,
      defaultDurationMinutes: role.defaultDuration ?? Math.min(60, role.maxDuration),
      approvalsRequired: role.approvalsRequired,
      approverGroups: role.approvers,
      ticket: { required: role.ticket.required, pattern: role.ticket.pattern ?? null },
      emergencyAllowed: role.emergency.allowed,
    }));
    return c.json({ roles }, 200);
  });
}
