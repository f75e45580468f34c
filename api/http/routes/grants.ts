import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { DomainError } from '../../domain/errors.js';
import type { App, AppEnv } from '../env.js';
import { jsonResponse, problemResponses, RequestIdParam } from '../schemas.js';

/** The `credential_process` document, exactly (the AWS SDKs read these five keys). */
const CredentialProcessSchema = z
  .strictObject({
    Version: z.literal(1),
    AccessKeyId: z.string(),
    SecretAccessKey: z.string(),
    SessionToken: z.string(),
    Expiration: z.string().openapi({ description: 'min(STS expiry, grant end)' }),
  })
  .openapi('CredentialProcess');

const ConsoleSchema = z
  .object({
    url: z.string().openapi({ description: 'Federation sign-in URL; a secret, valid for 15 minutes' }),
    expiresAt: z.string(),
    signinUrlExpiresAt: z.string(),
    simulated: z.boolean(),
  })
  .openapi('ConsoleSession');

const GrantStatusSchema = z
  .object({
    id: z.string(),
    roleId: z.string(),
    status: z.string(),
    active: z.boolean().openapi({ description: 'Active and inside its window' }),
    endAt: z.string().nullable(),
    lastRevocationOnRoleAt: z.string().nullable().openapi({
      description:
        'Latest revocation still denied on the role; credentials fetched before it may be cut off (budget fallback)',
    }),
  })
  .openapi('GrantStatus');

const awsProblems = {
  ...problemResponses,
  502: { description: 'AWS refused the broker', content: problemResponses[400].content },
  503: { description: 'AWS is throttling the broker', content: problemResponses[400].content },
};

function grantsOf(c: Context<AppEnv>) {
  const grants = c.get('deps').grants;
  if (!grants) throw new DomainError('not_ready', 'AWS grants are not configured on this broker');
  return grants;
}

/** Responses carrying credentials must never be cached; simulated ones say so in a header. */
function secretHeaders(c: Context<AppEnv>, simulated: boolean): void {
  c.header('cache-control', 'no-store');
  c.header('pragma', 'no-cache');
  if (simulated) c.header('x-breakglass-simulated', 'true');
}

export function registerGrantRoutes(app: App): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/requests/{id}/credentials',
      tags: ['grants'],
      description:
        'STS credentials for your own active grant, as `credential_process` JSON. The session policy denies ' +
        'everything from the grant end. In simulated mode the header `x-breakglass-simulated: true` is set.',
      request: { params: RequestIdParam },
      responses: { 200: jsonResponse(CredentialProcessSchema, 'credential_process JSON'), ...awsProblems },
    }),
    async (c) => {
      const grants = grantsOf(c);
      const credentials = await grants.issueCredentials(c.get('caller'), c.req.valid('param').id);
      secretHeaders(c, grants.simulated);
      return c.json(credentials, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/requests/{id}/grant-status',
      tags: ['grants'],
      description:
        'Whether your own grant still serves credentials: one small read the CLI makes to re-validate a cached ' +
        'entry older than five minutes. No AWS call, not audited.',
      request: { params: RequestIdParam },
      responses: { 200: jsonResponse(GrantStatusSchema, 'Grant status'), ...problemResponses },
    }),
    async (c) => {
      const status = await grantsOf(c).grantStatus(c.get('caller'), c.req.valid('param').id);
      c.header('cache-control', 'no-store');
      return c.json(status, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/requests/{id}/console',
      tags: ['grants'],
      description: 'A console sign-in URL for your own active grant.',
      request: { params: RequestIdParam },
      responses: { 200: jsonResponse(ConsoleSchema, 'Console sign-in URL'), ...awsProblems },
    }),
    async (c) => {
      const grants = grantsOf(c);
      const session = await grants.openConsole(c.get('caller'), c.req.valid('param').id);
      secretHeaders(c, grants.simulated);
      return c.json(session, 200);
    },
  );
}
