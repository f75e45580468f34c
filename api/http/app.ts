import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { DomainError } from '../domain/errors.js';
import { newUlid } from '../ports/ids.js';
import { MemoryThrottleReports } from '../services/throttle-reporting.js';
import type { App, AppDeps, AppEnv } from './env.js';
import { authenticate } from './middleware/authenticate.js';
import { limitBody } from './middleware/body-limit.js';
import { rateLimits } from './middleware/rate-limit.js';
import { problem } from './problem.js';
import { registerActivityRoutes } from './routes/activity.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerDecisionRoutes } from './routes/decisions.js';
import { registerGrantRoutes } from './routes/grants.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInfoRoutes } from './routes/info.js';
import { registerMeRoutes } from './routes/me.js';
import { registerRequestRoutes } from './routes/requests.js';
import { registerSlackRoutes, SLACK_INTERACTIONS_PATH } from './routes/slack.js';
import { INVALID_TEXT } from './schemas.js';
import { createWeb } from './web/routes.js';

/** Largest JSON body the API accepts; requests are a few hundred bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Builds the whole HTTP app. The Node server, the Lambda handler and the tests all call this, so they serve
 * exactly the same routes, validation and errors.
 */
export function createApp(deps: AppDeps): App {
  const app: App = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.') || '(body)',
          message: issue.message,
        }));
        const summary = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
        const text = result.error.issues.find(
          (issue) => issue.code === 'custom' && issue.params?.code === INVALID_TEXT,
        );
        if (text) {
          const field = text.path.map(String).join('.');
          return problem(c as Context, 'invalid_text', `${field} ${text.message}`, { field, errors: issues });
        }
        return problem(c as Context, 'validation_failed', summary, { errors: issues });
      }
      return undefined;
    },
  });

  app.use('*', async (c, next) => {
    const offered = c.req.header('x-request-id');
    const requestId = offered && /^[\w.-]{1,64}$/.test(offered) ? offered : `r_${newUlid()}`;
    c.set('requestId', requestId);
    c.set('deps', deps);
    c.header('x-request-id', requestId);
    await next();
  });
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      referrerPolicy: 'same-origin',
      xFrameOptions: 'DENY',
      strictTransportSecurity: deps.publicUrl.startsWith('https:')
        ? 'max-age=31536000; includeSubDomains'
        : false,
    }),
  );
  const limitBodies = limitBody({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => problem(c, 'payload_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`),
  });
  // Slack's interaction payloads embed the whole message; that route sets its own, larger limit.
  app.use('*', (c, next) => (c.req.path === SLACK_INTERACTIONS_PATH ? next() : limitBodies(c, next)));
  const web = createWeb(deps);
  const limits = rateLimits({
    limits: deps.config.limits,
    limiter: deps.limiter,
    requests: deps.requests,
    reports: deps.throttleReports ?? new MemoryThrottleReports(),
    logger: deps.logger,
  });
  app.use('/auth/*', limits.perIp);
  app.use(SLACK_INTERACTIONS_PATH, limits.perIp);
  app.use('/v1/*', limits.refusedTokens);
  app.use('/v1/*', async (c, next) => {
    if (c.req.path === '/v1/info') return next();
    // Auditors download exports from the /audit page: read-only audit GETs also accept the browser session.
    if (c.req.method === 'GET' && c.req.path.startsWith('/v1/audit/') && !c.req.header('authorization')) {
      const caller = await web.sessionCaller(c);
      if (caller) {
        c.set('caller', caller);
        return next();
      }
    }
    return authenticate(c, next);
  });
  app.use('/v1/*', limits.perPrincipal);
  // Web forms spend the same per-person budget as the API: a flood of form posts is still one person's calls.
  const limitWebForms: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const caller = await web.sessionCaller(c);
    if (!caller) return next();
    c.set('caller', caller);
    return limits.perPrincipal(c, next);
  };
  // `/requests/*` matches `/requests` itself too (registering both counted every form post twice).
  app.use('/requests/*', limitWebForms);
  // The JSON validator skips bodies of any other media type, which left handlers with no body at all (a 500).
  app.use('/v1/*', async (c, next) => {
    const hasBody = Number(c.req.header('content-length') ?? 0) > 0 || c.req.header('transfer-encoding');
    const mediaType = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (hasBody && !['GET', 'HEAD'].includes(c.req.method) && mediaType !== 'application/json') {
      return problem(c, 'unsupported_media_type', 'send the request body as application/json');
    }
    return next();
  });

  app.onError((error, c) => {
    if (error instanceof DomainError) {
      if (error.status >= 500) {
        deps.logger.warn(
          { requestId: c.get('requestId'), code: error.code, err: error.cause ?? error },
          error.message,
        );
      }
      return problem(c, error.code, error.message, error.extra);
    }
    if (error instanceof HTTPException && error.status === 400) {
      return problem(c, 'malformed_json', 'the request body is not valid JSON');
    }
    if (error instanceof HTTPException && error.status === 413) {
      return problem(c, 'payload_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
    }
    deps.logger.error({ requestId: c.get('requestId'), err: error }, 'unhandled error');
    return problem(c, 'internal', 'something went wrong on our side; quote the requestId when reporting it');
  });
  app.notFound((c) => problem(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`));

  registerHealthRoutes(app);
  registerInfoRoutes(app);
  registerMeRoutes(app);
  registerRequestRoutes(app);
  registerDecisionRoutes(app);
  registerGrantRoutes(app);
  registerAuditRoutes(app);
  registerActivityRoutes(app);
  registerSlackRoutes(app);
  web.register(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Breakglass API',
      version: deps.version,
      description: 'Time-bound break-glass access to AWS roles.',
    },
    security: [{ bearer: [] }],
  });
  return app;
}
