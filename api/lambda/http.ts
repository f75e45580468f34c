/** Lambda entry point for the HTTP API: the same app as the Node server, behind an HTTP API (payload v2) or a Function URL. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { buildBroker } from '../compose-http.js';
import { LambdaRuntime, notReadyBody, settleBudgetMs } from './runtime.js';

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** Builds the handler around a runtime; tests pass one with their own environment. */
export function createHttpHandler(runtime: LambdaRuntime): HttpHandler {
  let adapted: ReturnType<typeof handle> | null = null;
  return (event, context) =>
    runtime.run(context, async () => {
      const broker = await runtime.forRequest(event?.requestContext?.domainName);
      if (!broker) {
        const requestId = context?.awsRequestId ?? 'unknown';
        return {
          statusCode: 503,
          headers: { 'content-type': 'application/problem+json', 'x-request-id': requestId },
          body: notReadyBody(requestId),
        };
      }
      adapted ??= handle(broker.app);
      const result = (await adapted(event as never, context as never)) as APIGatewayProxyResultV2;
      // A revoke must reach IAM before the response says it happened, not after the next cold thaw.
      await broker.settle(settleBudgetMs(context));
      return result;
    });
}

export const handler = createHttpHandler(new LambdaRuntime(buildBroker));
