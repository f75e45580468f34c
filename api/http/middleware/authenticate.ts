import type { Context, MiddlewareHandler } from 'hono';
import type { Channel } from '../../domain/types.js';
import { IdentityProviderUnavailable, TokenRejected } from '../../ports/token-verifier.js';
import type { AppEnv } from '../env.js';
import { problem } from '../problem.js';

/**
 * The channel of a bearer-token call: always the API. The CLI's header only tells `cli` from `api` among
 * bearer calls; `web` and `slack` are set by the routes those channels arrive on (session cookie, signed Slack
 * payload), never by a header a client chooses.
 */
export function channelOf(c: Context): Channel {
  return c.req.header('x-breakglass-client') === 'cli' ? 'cli' : 'api';
}

/** The caller's address as the runtime saw it (Node socket or Lambda request context). */
export function clientIp(c: Context): string | undefined {
  const env = c.env as
    | {
        incoming?: { socket?: { remoteAddress?: string } };
        event?: { requestContext?: { http?: { sourceIp?: string } } };
      }
    | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.event?.requestContext?.http?.sourceIp ?? undefined;
}

/** Requires a valid bearer token and puts the caller on the context. */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const deps = c.get('deps');
  const header = c.req.header('authorization') ?? '';
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header);
  if (!match?.[1]) {
    return problem(c, 'invalid_token', 'send an OIDC access token as "Authorization: Bearer <token>"');
  }
  try {
    const ip = clientIp(c);
    const caller = await deps.verifier.verify(match[1], { via: channelOf(c), ...(ip ? { ip } : {}) });
    c.set('caller', caller);
  } catch (error) {
    if (error instanceof TokenRejected) {
      deps.logger.info({ requestId: c.get('requestId'), reason: error.reason }, 'token rejected');
      return problem(c, 'invalid_token', 'the access token is missing, expired or not valid for this broker');
    }
    if (error instanceof IdentityProviderUnavailable) {
      deps.logger.error(
        { requestId: c.get('requestId'), err: error.message },
        'identity provider unavailable',
      );
      return problem(c, 'not_ready', 'the identity provider cannot be reached; try again shortly');
    }
    throw error;
  }
  await next();
  return undefined;
};
