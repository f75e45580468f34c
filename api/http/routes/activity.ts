/** `GET /v1/requests/{id}/activity` (the summary, read by the broker) and `…/activity/trail` (for the CLI). */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { DomainError } from '../../domain/errors.js';
import type { App, AppEnv } from '../env.js';
import { jsonResponse, problemResponses, RequestIdParam } from '../schemas.js';

const FindingSchema = z
  .object({
    kind: z
      .string()
      .openapi({ description: 'One of the checklist kinds in docs/audit.md', example: 'iam-policy-change' }),
    eventName: z.string(),
    eventSource: z.string(),
    eventId: z.string().openapi({ description: 'The CloudTrail eventID' }),
    time: z.string(),
    region: z.string().nullable(),
    outcome: z.enum(['succeeded', 'failed']),
    errorCode: z.string().nullable(),
    target: z.string().nullable(),
  })
  .openapi('ActivityFinding');

const WindowSchema = z.object({ from: z.string(), to: z.string() });

const ActivitySchema = z
  .object({
    requestId: z.string(),
    window: WindowSchema,
    records: z.number().int().openapi({ description: 'CloudTrail records attributed to the grant' }),
    byService: z.record(z.string(), z.number().int()),
    byAction: z.record(z.string(), z.number().int()),
    reads: z.number().int(),
    writes: z.number().int(),
    unclassified: z.number().int(),
    errors: z.number().int(),
    accessDenied: z.number().int(),
    console: z.object({ signIns: z.number().int(), calls: z.number().int() }),
    afterEnd: z.object({
      endedBy: z.enum(['revoked', 'expired']).nullable(),
      refused: z.number().int(),
      allowed: z.number().int(),
      calls: z.array(
        z.object({
          eventName: z.string(),
          eventSource: z.string(),
          eventId: z.string(),
          time: z.string(),
          errorCode: z.string().nullable(),
        }),
      ),
    }),
    firstCall: z.string().nullable(),
    lastCall: z.string().nullable(),
    findings: z.array(FindingSchema),
    truncated: z.boolean(),
    identity: z.object({
      accountId: z.string(),
      roleArn: z.string(),
      sourceIdentity: z.string(),
      roleSessionName: z.string(),
      accessKeyIds: z.array(z.string()),
      attributableUntil: z.string(),
    }),
    source: z.object({
      location: z.string(),
      regions: z.array(z.string()),
      files: z.number().int(),
      bytes: z.number().int(),
    }),
    complete: z.boolean().openapi({ description: 'False while log files for the grant may still arrive' }),
  })
  .openapi('GrantActivity');

const GrantTrailSchema = z
  .object({
    requestId: z.string(),
    accountId: z.string(),
    roleArn: z.string(),
    sourceIdentity: z.string(),
    roleSessionName: z.string(),
    accessKeyIds: z.array(z.string()),
    window: WindowSchema,
    endedBy: z.enum(['revoked', 'expired']).nullable(),
    attributableUntil: z.string(),
  })
  .openapi('GrantTrail');

const activityProblems = {
  ...problemResponses,
  502: { description: 'The organisation trail could not be read', content: problemResponses[400].content },
};

function activityOf(c: Context<AppEnv>) {
  const activity = c.get('deps').activity;
  if (!activity)
    throw new DomainError(
      'cloudtrail_not_configured',
      'grant activity reviews are not set up on this broker',
    );
  return activity;
}

export function registerActivityRoutes(app: App): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/requests/{id}/activity',
      tags: ['audit'],
      description:
        'What was done with a grant: its CloudTrail records (joined by the access keys it issued, or its ' +
        'SourceIdentity and role session name) from the configured organisation trail, by service and action, ' +
        'with the security checklist findings. Auditors and approvers of the role. Records `activity.viewed`.',
      request: { params: RequestIdParam },
      responses: { 200: jsonResponse(ActivitySchema, 'Activity summary'), ...activityProblems },
    }),
    async (c) => {
      const report = await activityOf(c).summary(c.get('caller'), c.req.valid('param').id);
      c.header('cache-control', 'no-store');
      return c.json(report, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/requests/{id}/activity/trail',
      tags: ['audit'],
      description:
        'What identifies a grant in CloudTrail (window, access key ids, SourceIdentity, session name), for a ' +
        'reviewer who reads a copy of the trail (`breakglass audit activity ID --cloudtrail …`). Auditors and ' +
        'approvers of the role. Records `activity.viewed` with the location the client reads.',
      request: {
        params: RequestIdParam,
        query: z.object({
          location: z
            .string()
            .max(1024)
            .optional()
            .openapi({ description: 'Where the client reads the trail' }),
        }),
      },
      responses: { 200: jsonResponse(GrantTrailSchema, 'The grant in CloudTrail'), ...problemResponses },
    }),
    async (c) => {
      const trail = await activityOf(c).trail(c.get('caller'), c.req.valid('param').id, {
        by: 'client',
        location: c.req.valid('query').location ?? 'unspecified',
      });
      c.header('cache-control', 'no-store');
      return c.json(trail, 200);
    },
  );
}
