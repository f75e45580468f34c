import { createRoute, z } from '@hono/zod-openapi';
import type { App } from '../env.js';
import { jsonResponse } from '../schemas.js';

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['health'],
  security: [],
  responses: { 200: jsonResponse(z.object({ ok: z.boolean(), version: z.string() }), 'The process is up') },
});

const CheckSchema = z.object({ ok: z.boolean(), detail: z.string().optional() }).catchall(z.unknown());
const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['health'],
  security: [],
  responses: {
    200: jsonResponse(
      z.object({ ok: z.boolean(), checks: z.record(z.string(), CheckSchema) }),
      'Ready to serve',
    ),
    503: jsonResponse(z.object({ ok: z.boolean(), checks: z.record(z.string(), CheckSchema) }), 'Not ready'),
  },
});

/** Each readiness probe gets this long, so /readyz answers within 2 s even when a dependency stalls. */
export const PROBE_DEADLINE_MS = 1500;

function withDeadline<T>(work: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms} ms`)), ms);
  });
  // The abandoned probe may still fail later; that must not become an unhandled rejection.
  work.catch(() => {});
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export function registerHealthRoutes(app: App): void {
  app.openapi(healthRoute, (c) => c.json({ ok: true, version: c.get('deps').version }, 200));

  app.openapi(readyRoute, async (c) => {
    const deps = c.get('deps');
    const checks: Record<string, z.infer<typeof CheckSchema>> = {};
    const probes = [
      {
        name: 'dynamodb',
        check: async () => {
          await deps.audit.ping();
          return { ok: true };
        },
      },
      ...(deps.readiness ?? []),
    ];
    await Promise.all(
      probes.map(async (probe) => {
        try {
          checks[probe.name] = await withDeadline(probe.check(), PROBE_DEADLINE_MS, probe.name);
        } catch (error) {
          deps.logger.warn({ check: probe.name, err: (error as Error).message }, 'readiness check failed');
          checks[probe.name] = { ok: false, detail: 'unavailable' };
        }
      }),
    );
    const ok = Object.values(checks).every((check) => check.ok);
    return ok ? c.json({ ok, checks }, 200) : c.json({ ok, checks }, 503);
  });
}
