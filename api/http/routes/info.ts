import { createRoute, z } from '@hono/zod-openapi';
import type { App } from '../env.js';
import { jsonResponse } from '../schemas.js';

const InfoSchema = z
  .object({
    version: z.string(),
    issuer: z.string(),
    audience: z.string(),
    clientId: z.string(),
    scopes: z.array(z.string()),
    devMode: z.boolean(),
    simulated: z.boolean(),
  })
  .openapi('Info');

const infoRoute = createRoute({
  method: 'get',
  path: '/v1/info',
  tags: ['discovery'],
  security: [],
  description: 'What a client needs to log in: the OIDC issuer, audience, client id and scopes.',
  responses: { 200: jsonResponse(InfoSchema, 'Login discovery') },
});

export function registerInfoRoutes(app: App): void {
  app.openapi(infoRoute, (c) => {
    const { config, version, devMode } = c.get('deps');
    return c.json(
      {
        version,
        issuer: config.oidc.issuer,
        audience: config.oidc.audience,
        clientId: config.oidc.clientId,
        scopes: config.oidc.scopes,
        devMode,
        simulated: config.aws.mode === 'simulated',
      },
      200,
    );
  });
}
