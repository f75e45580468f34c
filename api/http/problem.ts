import type { Context } from 'hono';
import { ERROR_STATUS, type ErrorCode } from '../domain/errors.js';

const TITLES: Partial<Record<ErrorCode, string>> = {
  validation_failed: 'Request validation failed',
  malformed_json: 'Malformed JSON body',
  invalid_token: 'Missing or invalid access token',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  invalid_state: 'Request is not in a state that allows this',
  payload_too_large: 'Request body too large',
  storage_unavailable: 'Storage unavailable',
  rate_limited: 'Too many requests',
  invalid_text: 'Text not accepted',
  invalid_cursor: 'Invalid cursor',
  internal: 'Internal error',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  [extra: string]: unknown;
}

export function problemBody(
  code: ErrorCode,
  detail: string,
  requestId: string,
  extra: Record<string, unknown> = {},
): Problem {
  // Extras come first so that none of them can replace a standard member (a non-numeric `status` would
  // make the Response constructor throw and turn a 409 into a 500).
  return {
    ...extra,
    type: `urn:breakglass:problem:${code}`,
    title: TITLES[code] ?? code.replaceAll('_', ' '),
    status: ERROR_STATUS[code],
    detail,
    code,
    requestId,
  };
}

/** Sends an RFC 7807 problem document. */
export function problem(
  c: Context,
  code: ErrorCode,
  detail: string,
  extra: Record<string, unknown> = {},
): Response {
  const body = problemBody(code, detail, c.get('requestId') ?? 'unknown', extra);
  // A raw Response skips headers set with c.header(), so the request id is repeated here for support.
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json',
    'x-request-id': body.requestId,
  };
  if (code === 'invalid_token') headers['www-authenticate'] = 'Bearer error="invalid_token"';
  // 503 and 429 say when to come back (RFC 9110 §10.2.3); the body repeats it for clients that read JSON.
  if (body.status === 503 || body.status === 429) {
    const seconds = typeof extra.retryAfterSeconds === 'number' ? extra.retryAfterSeconds : 2;
    headers['retry-after'] = String(Math.max(1, Math.ceil(seconds)));
  }
  return new Response(JSON.stringify(body), { status: body.status, headers });
}
