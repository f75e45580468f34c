/**
 * The web app: OIDC login into an encrypted cookie session, and server-rendered pages whose every decision goes
 * through RequestService with via='web' — the same rules as the API. Routes live by area in routes/, one file
 * per page in pages/, shared pieces in components.tsx and kit.tsx.
 */
import type { Context } from 'hono';
import type { Caller } from '../../domain/types.js';
import type { App, AppDeps } from '../env.js';
import { callerOf, createKit, LOGOUT_MARKER, webContext } from './kit.js';
import type { WebOptions } from './options.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerRequestRoutes } from './routes/requests.js';
import type { WebSession } from './session.js';

/** The web app: its routes, and the session lookup the API uses for browser downloads of audit exports. */
export interface WebApp {
  /** The signed-in caller of a browser request (via 'web'), or null without a live session. */
  sessionCaller(c: Context): Promise<Caller | null>;
  register(app: App): void;
}

export function registerWebRoutes(app: App, deps: AppDeps): void {
  createWeb(deps).register(app);
}

export function createWeb(deps: AppDeps): WebApp {
  const options: WebOptions = deps.web ?? {};
  const web = webContext(deps, options);

  async function sessionOf(c: Context): Promise<WebSession | null> {
    if (!web.cookies) return null;
    const session = await web.cookies.readSession(c);
    if (!session) return null;
    if (options.markers && (await options.markers.get(LOGOUT_MARKER, session.sid))) return null;
    return session;
  }

  return {
    sessionCaller: async (c) => {
      const session = await sessionOf(c);
      return session ? callerOf(c, session) : null;
    },
    register: (app) => {
      const kit = createKit(deps, options, web, sessionOf);
      registerAuthRoutes(app, kit);
      registerRequestRoutes(app, kit);
      registerAuditRoutes(app, kit);
    },
  };
}
