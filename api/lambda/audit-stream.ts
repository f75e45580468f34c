/**
 * Lambda entry point for the audit routes (`/v1/audit/*`) behind a Function URL in `RESPONSE_STREAM` mode: the
 * same app as the API function, but the response body goes to the client as it is produced instead of being
 * buffered (a buffered Lambda response stops at 6 MB; a streamed one at 200 MB, and may run up to the function's
 * 15-minute timeout). When the client accepts gzip, the body is compressed on the way out: an export of a million
 * events (≈ 430 MB of JSONL) then stays well inside the 200 MB cap and the 2 MB/s rate Lambda allows past the
 * first 6 MB. Memory stays flat: one DynamoDB page and one gzip window at a time. See docs/audit.md.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { buildBroker } from '../compose-http.js';
import { LambdaRuntime, notReadyBody } from './runtime.js';

/** What the Node.js managed runtime provides as the global `awslambda` for streaming handlers. */
export interface StreamingLambda {
  streamifyResponse(
    handler: (event: APIGatewayProxyEventV2, stream: Writable, context: Context) => Promise<void>,
  ): unknown;
  HttpResponseStream: {
    from(
      stream: Writable,
      metadata: { statusCode: number; headers: Record<string, string>; cookies?: string[] },
    ): Writable;
  };
}

/** The Web Request the app expects, from a Function URL event (payload format 2.0). */
export function requestOf(event: APIGatewayProxyEventV2): Request {
  const host = event.requestContext?.domainName ?? event.headers?.host ?? 'localhost';
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers ?? {}))
    if (value !== undefined) headers.set(name, value);
  if (event.cookies?.length) headers.set('cookie', event.cookies.join('; '));
  const method = event.requestContext?.http?.method ?? 'GET';
  const body =
    event.body && method !== 'GET' && method !== 'HEAD'
      ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
      : undefined;
  return new Request(`https://${host}${event.rawPath ?? '/'}${query}`, {
    method,
    headers,
    ...(body ? { body } : {}),
  });
}

const acceptsGzip = (event: APIGatewayProxyEventV2) =>
  /\bgzip\b/i.test(
    Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === 'accept-encoding')?.[1] ?? '',
  );

/** Builds the streaming handler around a runtime and the Lambda streaming API (tests pass both). */
export function createAuditStreamHandler(runtime: LambdaRuntime, lambda: StreamingLambda): unknown {
  return lambda.streamifyResponse(async (event, responseStream, context) =>
    runtime.run(context, async () => {
      const requestId = context?.awsRequestId ?? 'unknown';
      const broker = await runtime.forRequest(event?.requestContext?.domainName);
      if (!broker) {
        const out = lambda.HttpResponseStream.from(responseStream, {
          statusCode: 503,
          headers: { 'content-type': 'application/problem+json', 'x-request-id': requestId },
        });
        out.end(notReadyBody(requestId));
        return;
      }
      const response = await broker.app.fetch(requestOf(event), {
        event,
        requestContext: event.requestContext,
        context,
      });
      const headers: Record<string, string> = {};
      const cookies: string[] = [];
      response.headers.forEach((value, name) => {
        if (name === 'set-cookie') cookies.push(value);
        else headers[name] = value;
      });
      const gzip = response.body !== null && response.status === 200 && acceptsGzip(event);
      if (gzip) {
        headers['content-encoding'] = 'gzip';
        headers.vary = 'accept-encoding';
        delete headers['content-length'];
      }
      const out = lambda.HttpResponseStream.from(responseStream, {
        statusCode: response.status,
        headers,
        ...(cookies.length ? { cookies } : {}),
      });
      if (!response.body) {
        out.end();
      } else {
        const body = Readable.fromWeb(response.body as never);
        // pipeline waits for the client to take each chunk (backpressure), so memory does not grow with size.
        if (gzip) await pipeline(body, createGzip({ level: 6 }), out);
        else await pipeline(body, out);
      }
      await broker.settle(5_000);
    }),
  );
}

const streaming = (globalThis as { awslambda?: StreamingLambda }).awslambda;

/** Only defined inside the Lambda runtime, which provides `awslambda`. */
export const handler =
  typeof streaming?.streamifyResponse === 'function'
    ? createAuditStreamHandler(new LambdaRuntime(buildBroker), streaming)
    : undefined;
