/**
 * The audit function's streaming handler at handler level, against DynamoDB Local and the development OIDC
 * provider: an export of several DynamoDB pages reaches the response stream while the pages are still being
 * read (nothing buffers the whole body), gzip-compressed when the client accepts it, and the bytes verify.
 * The Lambda runtime's `awslambda` streaming API is simulated here (Node's runtime provides it in AWS): its
 * `streamifyResponse` passes the handler through and `HttpResponseStream.from` records the status and headers
 * the runtime would send before the body.
 */

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { ensureTable } from '../../api/adapters/dynamodb/table.js';
import { dynamoClientFor } from '../../api/compose.js';
import { buildBroker } from '../../api/compose-http.js';
import { exampleConfigPath } from '../../api/config/load.js';
import { createAuditStreamHandler, type StreamingLambda } from '../../api/lambda/audit-stream.js';
import { LambdaRuntime } from '../../api/lambda/runtime.js';
import { verifyJsonl } from '../../api/services/audit-verify.js';
import { generateHistory } from '../../bench/fixtures/audit-history.js';
import { writeSealedHistory } from '../../bench/fixtures/audit-table.js';
import { startTestStack, type TestStack, tokenFor } from '../support/stack.js';

const EVENTS = 6000;
const HOST = 'audit1234567.lambda-url.us-east-1.on.aws';

function urlEvent(path: string, headers: Record<string, string>): APIGatewayProxyEventV2 {
  const [rawPath, rawQueryString = ''] = path.split('?');
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: rawPath!,
    rawQueryString,
    headers: { host: HOST, 'x-forwarded-proto': 'https', ...headers },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'audit1234567',
      domainName: HOST,
      domainPrefix: 'audit1234567',
      http: {
        method: 'GET',
        path: rawPath!,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.9',
        userAgent: 'cli',
      },
      requestId: 'url-stream-1',
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

const context = { awsRequestId: 'aws-stream-1', functionName: 'breakglass-audit' } as unknown as Context;

describe('the audit function streams exports through a Function URL', () => {
  let stack: TestStack;
  let runtime: LambdaRuntime;
  let token: string;
  let pagesRead = 0;

  beforeAll(async () => {
    stack = await startTestStack();
    const dir = mkdtempSync(join(tmpdir(), 'bg-stream-'));
    const config = parse(readFileSync(exampleConfigPath, 'utf8'));
    config.oidc.issuer = stack.issuer;
    config.bunker = { kind: 'file', directory: join(dir, 'bunker') };
    writeFileSync(join(dir, 'breakglass.json'), JSON.stringify(config));
    const tableName = `stream${Date.now().toString(36)}`;
    const dynamodb = dynamoClientFor('us-east-1', inject('dynamodbEndpoint'), { requestTimeoutMs: 30_000 });
    await ensureTable(dynamodb, tableName);
    await writeSealedHistory(dynamodb, tableName, generateHistory(EVENTS), 2);
    dynamodb.destroy();
    runtime = new LambdaRuntime(buildBroker, {
      env: {
        BREAKGLASS_CONFIG: join(dir, 'breakglass.json'),
        BREAKGLASS_TABLE: tableName,
        BREAKGLASS_DATA_DIR: dir,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_DYNAMODB: inject('dynamodbEndpoint'),
        LOG_LEVEL: 'error',
      },
      logDestination: { write: () => undefined },
    });
    // Count the pages the export reads from the audit partition, on the broker the handler will use.
    const broker = await runtime.get(`https://${HOST}`);
    broker.dynamodb.middlewareStack.add(
      (next, info) => async (args) => {
        const input = args.input as { KeyConditionExpression?: string };
        const result = await next(args);
        if (info.commandName === 'QueryCommand' && input.KeyConditionExpression?.includes('BETWEEN')) {
          pagesRead += 1;
        }
        return result;
      },
      { step: 'initialize', name: 'countAuditPages' },
    );
    token = await tokenFor(stack, 'carol');
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  async function invoke(path: string, headers: Record<string, string>, using: LambdaRuntime = runtime) {
    const chunks: Array<{ bytes: Buffer; pagesReadBefore: number }> = [];
    let metadata: { statusCode: number; headers: Record<string, string> } | null = null;
    const simulated: StreamingLambda = {
      streamifyResponse: (handler) => handler,
      HttpResponseStream: {
        from: (stream, meta) => {
          metadata = meta;
          return stream;
        },
      },
    };
    const responseStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push({ bytes: Buffer.from(chunk), pagesReadBefore: pagesRead });
        done();
      },
    });
    const handler = createAuditStreamHandler(using, simulated) as (
      event: APIGatewayProxyEventV2,
      stream: Writable,
      context: Context,
    ) => Promise<void>;
    pagesRead = 0;
    await handler(urlEvent(path, headers), responseStream, context);
    return {
      chunks,
      metadata: metadata as unknown as { statusCode: number; headers: Record<string, string> },
    };
  }

  it('sends the first bytes before the last page is read, gzip-compressed, and the export verifies', async () => {
    const { chunks, metadata } = await invoke('/v1/audit/events?format=jsonl', {
      authorization: `Bearer ${token}`,
      'accept-encoding': 'gzip, br',
    });
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers['content-encoding']).toBe('gzip');
    const totalPages = pagesRead;
    expect(totalPages).toBeGreaterThanOrEqual(3);
    // The first body bytes reached the client while most of the partition was still unread.
    expect(chunks[0]!.pagesReadBefore).toBeLessThan(totalPages);
    const body = gunzipSync(Buffer.concat(chunks.map((chunk) => chunk.bytes))).toString('utf8');
    async function* lines() {
      yield* body.split('\n');
    }
    const report = await verifyJsonl(lines(), { trusted: null, allowUnsigned: true });
    expect(report).toMatchObject({ ok: true, lastSeq: EVENTS });
    const compressed = chunks.reduce((sum, chunk) => sum + chunk.bytes.length, 0);
    console.log(
      `streamed ${EVENTS} events over ${totalPages} DynamoDB pages in ${chunks.length} chunks; first chunk after ` +
        `${chunks[0]!.pagesReadBefore} page(s); ${(Buffer.byteLength(body) / 1e6).toFixed(1)} MB JSONL sent as ` +
        `${(compressed / 1e6).toFixed(1)} MB gzip`,
    );
  });

  it('sends plain bytes to a client that does not accept gzip, and problem+json for a bad query', async () => {
    const plain = await invoke('/v1/audit/events?format=csv', { authorization: `Bearer ${token}` });
    expect(plain.metadata.statusCode).toBe(200);
    expect(plain.metadata.headers['content-encoding']).toBeUndefined();
    expect(Buffer.concat(plain.chunks.map((chunk) => chunk.bytes)).toString('utf8')).toMatch(
      /^request_id,role/,
    );

    const bad = await invoke('/v1/audit/events?format=xml', {
      authorization: `Bearer ${token}`,
      'accept-encoding': 'gzip',
    });
    expect(bad.metadata.statusCode).toBe(400);
    expect(bad.metadata.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.metadata.headers['content-encoding']).toBeUndefined();
    const problem = JSON.parse(Buffer.concat(bad.chunks.map((chunk) => chunk.bytes)).toString('utf8'));
    expect(problem.code).toBe('validation_failed');

    const anonymous = await invoke('/v1/audit/events?format=jsonl', {});
    expect(anonymous.metadata.statusCode).toBe(401);
  });

  it('answers 503 not_ready as problem+json (not a crash) when the broker cannot start', async () => {
    const broken = new LambdaRuntime(buildBroker, {
      env: { BREAKGLASS_CONFIG: '/nonexistent/breakglass.json', BREAKGLASS_TABLE: 't' },
      logDestination: { write: () => undefined },
    });
    const answer = await invoke(
      '/v1/audit/events?format=jsonl',
      { authorization: `Bearer ${token}` },
      broken,
    );
    expect(answer.metadata.statusCode).toBe(503);
    expect(answer.metadata.headers['content-type']).toBe('application/problem+json');
    const problem = JSON.parse(Buffer.concat(answer.chunks.map((chunk) => chunk.bytes)).toString('utf8'));
    expect(problem.code).toBe('not_ready');
  });
});
