import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../env.js';

/**
 * hono's `bodyLimit`, without touching the body when the headers already settle it. hono's version reads
 * `c.req.raw.body` first, and on the Node server that one read turns the lightweight request into a full
 * `Request` with a web stream over the socket, which the JSON validator then reads through: a few hundred
 * microseconds per call, before any handler runs. A declared `Content-Length` is checked from the header alone
 * (Node's parser never delivers more bytes than it declares), a GET or HEAD carries no body, and everything else
 * (chunked uploads, runtimes that pass no length) is streamed and counted by hono's middleware as before.
 */
export function limitBody(options: {
  maxSize: number;
  onError: (c: Context<AppEnv>) => Response;
}): MiddlewareHandler<AppEnv> {
  const streamed = bodyLimit(options);
  return async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && /^\d+$/.test(declared) && c.req.header('transfer-encoding') === undefined) {
      return Number(declared) > options.maxSize ? options.onError(c) : next();
    }
    return streamed(c, next);
  };
}
