/**
 * Storage faults at the DynamoDB boundary: an unreachable, stalled or overloaded DynamoDB becomes one domain
 * error, `storage_unavailable` (503 with Retry-After), instead of a 500 or a request that hangs until the
 * socket gives up. Timeouts and retries are bounded so the answer comes within a few seconds.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DomainError } from '../../domain/errors.js';

/** Per attempt: opening a connection, then waiting for any byte of the answer. */
export const DYNAMODB_CONNECTION_TIMEOUT_MS = 1000;
export const DYNAMODB_REQUEST_TIMEOUT_MS = 2000;
/** Attempts per call, first included: 2 × 2 s plus back-off keeps a stalled table under 5 s. */
export const DYNAMODB_MAX_ATTEMPTS = 2;
/** What a client is told to wait before retrying. */
export const STORAGE_RETRY_AFTER_SECONDS = 2;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const OVERLOAD_NAMES = new Set([
  'TimeoutError',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'InternalServerError',
  'ServiceUnavailable',
]);

/** DynamoDB could not be reached or did not answer in time; the detail is public, the cause is for logs. */
export class StorageUnavailable extends DomainError {
  constructor(cause: unknown) {
    super('storage_unavailable', 'storage is unavailable right now; retry shortly', {
      retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS,
    });
    this.name = 'StorageUnavailable';
    this.cause = cause;
  }
}

/** True for transport failures, timeouts, throttling and DynamoDB 5xx (all after the SDK's own retries). */
export function isStorageFault(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof DomainError) return false;
  const { code, $metadata } = error as Error & {
    code?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (OVERLOAD_NAMES.has(error.name)) return true;
  return typeof $metadata?.httpStatusCode === 'number' && $metadata.httpStatusCode >= 500;
}

/** Client options that bound one DynamoDB call to a few seconds, stalled or not. */
/** The name the SDK registers its logger middleware under (`@aws-sdk/core`'s loggerMiddlewareOptions). */
export const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

export function boundedClientOptions() {
  return {
    maxAttempts: DYNAMODB_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: DYNAMODB_CONNECTION_TIMEOUT_MS,
      requestTimeout: DYNAMODB_REQUEST_TIMEOUT_MS,
      // Without this the handler only logs a warning and the call waits for the socket to give up (45 s).
      throwOnRequestTimeout: true,
    },
  };
}

/**
 * Translates storage faults on every command of this client into StorageUnavailable. The hook is the outermost
 * middleware, so it sees what is left after the SDK's bounded retries.
 */
export function translateStorageFaults(client: DynamoDBClient): DynamoDBClient {
  // The SDK's logger middleware copies every input and output through its sensitive-data filter for a logger
  // that, here, writes nothing (the broker logs its own lines): about 0.5 ms of one TransactWriteItems and more
  // for a page of chain blocks. `remove` answers false once the SDK renames it, which a unit test notices.
  client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (isStorageFault(error)) throw new StorageUnavailable(error);
        throw error;
      }
    },
    { step: 'initialize', name: 'breakglassStorageFaults', priority: 'high', override: true },
  );
  return client;
}
