/**
 * The Lambda entry points with realistic events against DynamoDB Local and the development OIDC provider: a
 * Function URL / HTTP API v2 request, an EventBridge Scheduler payload, the every-minute rule and a DynamoDB
 * stream batch with a poison record. The HTTP handler runs the same route checks as the Node server.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  DynamoDBRecord,
} from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { ensureTable } from '../../api/adapters/dynamodb/table.js';
import { dynamoClientFor } from '../../api/compose.js';
import { buildBroker } from '../../api/compose-http.js';
import { exampleConfigPath } from '../../api/config/load.js';
import { createHttpHandler } from '../../api/lambda/http.js';
import { LambdaRuntime } from '../../api/lambda/runtime.js';
import { createShipperHandler } from '../../api/lambda/shipper.js';
import { createSweeperHandler } from '../../api/lambda/sweeper.js';
import { createTransitionHandler, TransitionNotDueYet } from '../../api/lambda/transition.js';
import { bundleLambdas } from '../../infra/bundle-lambdas.mjs';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

let invocation = 0;
function lambdaContext(): Context {
  invocation += 1;
  return {
    awsRequestId: `aws-req-${invocation}`,
    functionName: 'breakglass-test',
    getRemainingTimeInMillis: () => 25_000,
  } as unknown as Context;
}

/** A Function URL (HTTP API payload 2.0) event, as Lambda delivers it. */
function urlEvent(
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
) {
  const [rawPath, rawQueryString = ''] = path.split('?');
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: rawPath!,
    rawQueryString,
    headers: {
      host: 'abcdefghij.lambda-url.us-east-1.on.aws',
      'user-agent': 'breakglass-cli/0.1',
      'x-forwarded-proto': 'https',
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abcdefghij',
      domainName: 'abcdefghij.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abcdefghij',
      http: {
        method,
        path: rawPath!,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'breakglass-cli/0.1',
      },
      requestId: `url-${invocation}`,
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: options.body ?? null,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

interface Transport {
  name: string;
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; raw?: string },
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }>;
}

let stack: TestStack;
let runtime: LambdaRuntime;
let lambdaEnv: Record<string, string>;
let bunkerDir: string;
const logLines: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  const dir = mkdtempSync(join(tmpdir(), 'bg-lambda-'));
  bunkerDir = join(dir, 'bunker');
  // The deployed config, pointed at the test's identity provider and a file bunker the test can read; JSON, as
  // the stack stores it (the functions carry no YAML parser).
  const config = parse(readFileSync(exampleConfigPath, 'utf8'));
  config.oidc.issuer = stack.issuer;
  config.bunker = { kind: 'file', directory: bunkerDir };
  const configPath = join(dir, 'breakglass.json');
  writeFileSync(configPath, JSON.stringify(config));
  const tableName = `lambda${Date.now().toString(36)}`;
  const dynamodb = dynamoClientFor('us-east-1', inject('dynamodbEndpoint'));
  await ensureTable(dynamodb, tableName);
  dynamodb.destroy();
  lambdaEnv = {
    BREAKGLASS_CONFIG: configPath,
    BREAKGLASS_TABLE: tableName,
    BREAKGLASS_DATA_DIR: dir,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamodbEndpoint'),
    LOG_LEVEL: 'info',
  };
  runtime = new LambdaRuntime(buildBroker, {
    env: lambdaEnv,
    logDestination: { write: (line: string) => void logLines.push(line) },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const lambdaTransport = (): Transport => {
  const handler = createHttpHandler(runtime);
  return {
    name: 'lambda',
    async call(method, path, options = {}) {
      const body = options.raw ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined);
      const result = (await handler(
        urlEvent(method, path, {
          ...(body !== undefined ? { body } : {}),
          headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
        }),
        lambdaContext(),
      )) as APIGatewayProxyStructuredResultV2;
      const text = result.body ?? '';
      return {
        status: result.statusCode ?? 0,
        body: text.startsWith('{') ? JSON.parse(text) : { text },
        headers: Object.fromEntries(
          Object.entries(result.headers ?? {}).map(([key, value]) => [key.toLowerCase(), String(value)]),
        ),
      };
    },
  };
};

const nodeTransport = (): Transport => ({
  name: 'node',
  async call(method, path, options = {}) {
    const body = options.raw ?? options.body;
    const response = await apiClient(stack, options.token)(method, path, body);
    return {
      status: response.status,
      body: (typeof response.body === 'object' ? response.body : { text: response.body }) as Record<
        string,
        unknown
      >,
      headers: Object.fromEntries([...response.headers.entries()]),
    };
  },
});

describe.each([{ make: nodeTransport }, { make: lambdaTransport }])('the same routes', ({ make }) => {
  let transport: Transport;
  beforeAll(() => {
    transport = make();
  });

  it('serves /healthz and /v1/info', async () => {
    const health = await transport.call('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ ok: true, version: expect.any(String) });
    expect(health.headers['x-request-id']).toMatch(/^r_/);
    expect(health.headers['x-frame-options']).toBe('DENY');
    const info = await transport.call('GET', '/v1/info');
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({
      issuer: stack.issuer,
      audience: 'breakglass',
      clientId: 'breakglass-cli',
    });
  });

  it('refuses a missing token with 401 invalid_token as problem+json', async () => {
    const response = await transport.call('GET', '/v1/me');
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('invalid_token');
    expect(response.headers['content-type']).toContain('application/problem+json');
  });

  it('authenticates a real token: alice creates and reads a request, erin is refused', async () => {
    const alice = await tokenFor(stack, 'alice');
    const me = await transport.call('GET', '/v1/me', { token: alice });
    expect(me.status).toBe(200);
    expect(me.body.email).toBe('alice@example.com');
    const created = await transport.call('POST', '/v1/requests', {
      token: alice,
      body: { roleId: 'prod-readonly', durationMinutes: 30, reason: `via ${transport.name}` },
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('pending');
    const read = await transport.call('GET', `/v1/requests/${created.body.id}`, { token: alice });
    expect(read.status).toBe(200);
    expect(read.body.reason).toBe(`via ${transport.name}`);
    const erin = await transport.call('POST', '/v1/requests', {
      token: await tokenFor(stack, 'erin'),
      body: { roleId: 'prod-readonly', durationMinutes: 30, reason: 'curious' },
    });
    expect(erin.status).toBe(403);
    expect(erin.body.code).toBe('not_requester');
  });

  it('answers bad input with 4xx problems, never 5xx', async () => {
    const alice = await tokenFor(stack, 'alice');
    const malformed = await transport.call('POST', '/v1/requests', { token: alice, raw: '{"roleId":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('malformed_json');
    const missing = await transport.call('GET', '/no/such/route');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('not_found');
  });
});

describe('HTTP handler specifics', () => {
  it('logs JSON lines carrying the Lambda request id and never the bearer token', async () => {
    const handler = createHttpHandler(runtime);
    const token = await tokenFor(stack, 'alice');
    const context = lambdaContext();
    const response = (await handler(
      urlEvent('GET', '/v1/me', { headers: { authorization: `Bearer ${token}x` } }),
      context,
    )) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(401);
    const mine = logLines.filter((line) => line.includes(context.awsRequestId));
    expect(mine.length).toBeGreaterThan(0);
    for (const line of mine) expect(JSON.parse(line).functionName).toBe('breakglass-test');
    expect(logLines.join('\n')).not.toContain(token);
  });

  it('answers 503 not_ready (not a crash) when the config cannot be loaded', async () => {
    const broken = new LambdaRuntime(buildBroker, {
      env: { BREAKGLASS_CONFIG: '/nonexistent/breakglass.json', BREAKGLASS_TABLE: 't' },
      logDestination: { write: () => undefined },
    });
    const response = (await createHttpHandler(broken)(
      urlEvent('GET', '/healthz'),
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body!).code).toBe('not_ready');
  });
});

describe('time-driven handlers', () => {
  const http = () => lambdaTransport();

  async function approvedRequest(startInMs: number): Promise<string> {
    const alice = await tokenFor(stack, 'alice');
    const bob = await tokenFor(stack, 'bob');
    const created = await http().call('POST', '/v1/requests', {
      token: alice,
      body: {
        roleId: 'prod-readonly',
        durationMinutes: 30,
        reason: 'scheduled maintenance',
        startAt: new Date(Date.now() + startInMs).toISOString(),
      },
    });
    expect(created.status).toBe(201);
    const approved = await http().call('POST', `/v1/requests/${created.body.id}/approve`, {
      token: bob,
      body: {},
    });
    expect(approved.body.status).toBe('approved');
    return String(created.body.id);
  }

  async function statusOf(id: string): Promise<string> {
    const read = await http().call('GET', `/v1/requests/${id}`, { token: await tokenFor(stack, 'alice') });
    return String(read.body.status);
  }

  it('transition: an early schedule is retried, the due one activates, a repeat is harmless, junk is refused', async () => {
    const transition = createTransitionHandler(runtime);
    const id = await approvedRequest(2_500);
    await expect(
      transition({ requestId: id, transition: 'activate' }, lambdaContext()),
    ).rejects.toBeInstanceOf(TransitionNotDueYet);
    expect(await statusOf(id)).toBe('approved');
    await new Promise((resolve) => setTimeout(resolve, 2_700));
    const applied = await transition({ requestId: id, transition: 'activate' }, lambdaContext());
    expect(applied).toMatchObject({ requestId: id, transition: 'activate', applied: true, status: 'active' });
    expect(await statusOf(id)).toBe('active');
    const again = await transition({ requestId: id, transition: 'activate' }, lambdaContext());
    expect(again.applied).toBe(false);
    await expect(
      transition({ requestId: 'nope', transition: 'explode' }, lambdaContext()),
    ).rejects.toMatchObject({
      code: 'validation_failed',
    });
    expect(logLines.some((line) => line.includes('"TransitionFailures":1'))).toBe(true);
  });

  it('sweeper: the every-minute rule applies a transition no schedule delivered', async () => {
    const id = await approvedRequest(1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const result = await createSweeperHandler(runtime)(
      { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
      lambdaContext(),
    );
    expect(result.applied).toBeGreaterThanOrEqual(1);
    expect(result.tasks['revocation-retry']).toBe('ok');
    expect(await statusOf(id)).toBe('active');
  });
});

describe('shipper handler', () => {
  let sequence = 1000;
  function record(image: DynamoDBRecord['dynamodb'] extends infer D ? D : never): DynamoDBRecord {
    sequence += 1;
    return {
      eventID: `evt-${sequence}`,
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN:
        'arn:aws:dynamodb:us-east-1:111111111111:table/breakglass/stream/2026-11-22T00:00:00.000',
      dynamodb: { SequenceNumber: String(sequence), SizeBytes: 200, StreamViewType: 'NEW_IMAGE', ...image },
    };
  }
  /** A shipper handler whose sealer only counts its runs. */
  function countingShipper() {
    let calls = 0;
    const handler = createShipperHandler(runtime, () => ({
      run: async () => {
        calls += 1;
        return { sealed: 0, lastSeq: 0, shipped: { shipped: 0, lastSeq: 0 } };
      },
    }));
    return { handler, runs: () => calls };
  }
  /** A newly committed journal record, as the stream shows it. */
  const auditImage = (n: number, type: string) => ({
    Keys: { pk: { S: 'JOURNAL#07' }, sk: { S: `R#${String(n).padStart(12, '0')}` } },
    NewImage: {
      pk: { S: 'JOURNAL#07' },
      sk: { S: `R#${String(n).padStart(12, '0')}` },
      events: { S: JSON.stringify([{ id: `evt_${n}`, type }]) },
    },
  });

  it('seals every committed event and ships the whole chain in seq order, skipping a poison record', async () => {
    const created = await lambdaTransport().call('POST', '/v1/requests', {
      token: await tokenFor(stack, 'alice'),
      body: { roleId: 'prod-readonly', durationMinutes: 30, reason: 'audit trail check' },
    });
    expect(created.status).toBe(201);
    const broker = await runtime.get();
    const before = await broker.sealer.lag();
    expect(before.unsealed).toBeGreaterThan(0);
    const poison = record({ NewImage: { nonsense: { BOOL: true } } });
    const unreadable = record({
      NewImage: { pk: { S: 'JOURNAL#07' }, sk: { S: 'R#000000000008' }, events: { S: '{"not":' } },
    });
    const batch = {
      Records: [
        record({ NewImage: { pk: { S: 'REQ#req_x' }, sk: { S: 'REQ' } } }),
        poison,
        unreadable,
        record(auditImage(1, 'grant.activated')),
      ],
    };
    const result = await createShipperHandler(runtime, (broker) => broker.sealer)(batch, lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
    expect((await broker.sealer.lag()).unsealed).toBe(0);
    const head = await broker.store.chainHead();
    expect(head.seq).toBeGreaterThanOrEqual(before.unsealed);
    const files = readdirSync(join(bunkerDir, 'events'), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.json'));
    const seqs = files.map((file) => Number(/(\d{12})-/.exec(file)?.[1])).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: head.seq }, (_, i) => i + 1));
    expect(
      logLines.some((line) => line.includes('stream record skipped') && line.includes('"PoisonRecords":1')),
    ).toBe(true);
    expect(logLines.some((line) => line.includes('journal record without readable events'))).toBe(true);
  });

  it('reports the first audit record as the batch item failure when shipping fails, so Lambda retries from there', async () => {
    const first = record(auditImage(41, 'request.created'));
    const batch = {
      Records: [
        record({ NewImage: { pk: { S: 'META' }, sk: { S: 'X' } } }),
        first,
        record(auditImage(42, 'revocation.failed')),
      ],
    };
    const failing = createShipperHandler(runtime, () => ({
      run: () => Promise.reject(new Error('bunker unreachable')),
    }));
    const result = await failing(batch, lambdaContext());
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: first.dynamodb!.SequenceNumber }]);
    // A revocation failure passing through the stream becomes a metric the alarm watches.
    expect(logLines.some((line) => line.includes('"RevocationFailures":1'))).toBe(true);
  });

  it('fails the batch while shipping is halted by a bunker conflict, so the lag alarm sees it', async () => {
    const first = record(auditImage(43, 'grant.expired'));
    const halted = createShipperHandler(runtime, () => ({
      run: async () => ({ sealed: 0, lastSeq: 42, shipped: { shipped: 0, lastSeq: 42, halted: true } }),
    }));
    expect((await halted({ Records: [first] }, lambdaContext())).batchItemFailures).toEqual([
      { itemIdentifier: first.dynamodb!.SequenceNumber },
    ]);
  });

  it('runs the sealer on the every-minute heartbeat tick, which has no records', async () => {
    const { handler, runs } = countingShipper();
    const tick = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };
    expect((await handler(tick as never, lambdaContext())).batchItemFailures).toEqual([]);
    expect(runs()).toBe(1);
  });

  it('runs the sealer for a filler (it may free the records behind its number) and for an entry of the older layout', async () => {
    const { handler, runs } = countingShipper();
    const filler = { pk: { S: 'JOURNAL#07' }, sk: { S: 'R#000000000009' }, filler: { BOOL: true } };
    expect(
      (await handler({ Records: [record({ NewImage: filler })] }, lambdaContext())).batchItemFailures,
    ).toEqual([]);
    expect(runs()).toBe(1);
    const older = {
      pk: { S: 'EVT#evt_9' },
      sk: { S: 'EVT#evt_9' },
      type: { S: 'revocation.failed' },
      gsi5pk: { S: 'UNSEALED' },
    };
    await handler({ Records: [record({ NewImage: older })] }, lambdaContext());
    expect(runs()).toBe(2);
  });

  it('does not ship at all for a batch without audit events', async () => {
    const { handler, runs } = countingShipper();
    const result = await handler(
      {
        Records: [
          record({ NewImage: { pk: { S: 'REQ#req_y' }, sk: { S: 'REQ' } } }),
          // A timeline entry of a request: its events arrive in the journal record.
          record({
            NewImage: { pk: { S: 'REQ#req_y' }, sk: { S: 'EVT#evt_1' }, type: { S: 'request.created' } },
          }),
          { bogus: true } as never,
        ],
      },
      lambdaContext(),
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(runs()).toBe(0);
  });
});

/**
 * Issue #10's size targets: the API functions 1 MiB, every other 500 KiB — held both against what a cold start
 * loads and against everything a function deploys (lazily loaded chunks included; source maps are not deployed).
 */
const COLD_START_TARGET_KIB: Record<string, number> = {
  http: 1024,
  audit: 1024,
  transition: 500,
  sweeper: 500,
  shipper: 500,
};
const DEPLOYED_TARGET_KIB = COLD_START_TARGET_KIB;

/**
 * What no bundle may carry: the default credential chain's providers and their clients (a Lambda's credentials
 * are in its environment), the browser User-Agent parser, pino (the functions log through
 * adapters/logging/json-lines.ts), the YAML parser (config is JSON) and Slack's WebClient (infra/bundle-lambdas.mjs).
 */
const NEVER_BUNDLED = [
  '@aws-sdk/credential-provider-node',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/token-providers',
  '@aws-sdk/nested-clients',
  '@smithy/credential-provider-imds',
  'bowser',
  'pino',
  'sonic-boom',
  'thread-stream',
  'yaml',
  '@slack/web-api',
];

describe('the esbuild bundle', () => {
  const outRoot = mkdtempSync(join(tmpdir(), 'bg-bundle-'));
  let bundles: Awaited<ReturnType<typeof bundleLambdas>>;

  beforeAll(async () => {
    bundles = await bundleLambdas({ outRoot, quiet: true });
  }, 120_000);

  it('keeps each function within its size target, and carries only what its entry imports', () => {
    const kib = (bytes: number) => Math.round(bytes / 1024);
    const overTarget = Object.entries(COLD_START_TARGET_KIB)
      .filter(([fn, target]) => kib(bundles[fn]!.coldStartBytes) > target)
      .map(([fn, target]) => `${fn}: ${kib(bundles[fn]!.coldStartBytes)} KiB at cold start > ${target} KiB`);
    expect(overTarget).toEqual([]);
    const overTargetDeployed = Object.entries(DEPLOYED_TARGET_KIB)
      .filter(([fn, target]) => kib(bundles[fn]!.totalBytes) > target)
      .map(([fn, target]) => `${fn}: ${kib(bundles[fn]!.totalBytes)} KiB deployed > ${target} KiB`);
    expect(overTargetDeployed).toEqual([]);
    for (const fn of Object.keys(COLD_START_TARGET_KIB)) {
      expect(bundles[fn]!.packages.filter((pkg) => NEVER_BUNDLED.includes(pkg))).toEqual([]);
      expect(bundles[fn]!.packages).toContain('@aws-sdk/credential-provider-env');
    }
    // Each function carries only what its entry imports: the HTTP layer only in the API function, grant and
    // Slack code not in the sealer.
    const httpOnly = ['hono', '@hono/zod-openapi', 'api/http', 'oauth4webapi', 'api/adapters'];
    for (const fn of ['transition', 'sweeper', 'shipper']) {
      expect(bundles[fn]!.packages).not.toContain('hono');
      expect(bundles[fn]!.packages).not.toContain('@hono/zod-openapi');
      expect(bundles[fn]!.packages.filter((p) => p === 'api/http')).toEqual([]);
    }
    expect(bundles.http!.packages).toEqual(expect.arrayContaining(httpOnly.slice(0, 3)));
    for (const pkg of ['@aws-sdk/client-iam', '@aws-sdk/client-sts', '@aws-sdk/client-scheduler'])
      expect(bundles.shipper!.packages).not.toContain(pkg);
    // The transition and sweeper functions seal but never ship or sign: no bunker adapters, not even lazily.
    for (const fn of ['transition', 'sweeper']) {
      for (const pkg of ['@aws-sdk/client-s3', '@aws-sdk/client-kms', 'jose'])
        expect(bundles[fn]!.packages).not.toContain(pkg);
    }
    // Loaded on first use only: the KMS signer (a digest is due now and then) and jose (verification after a
    // lost cursor, the local-key signer), which keeps the shipper's cold start under its target.
    for (const pkg of ['@aws-sdk/client-kms', 'jose'])
      expect(bundles.shipper!.coldStartPackages).not.toContain(pkg);
    expect(bundles.shipper!.packages).toEqual(expect.arrayContaining(['@aws-sdk/client-kms', 'jose']));
  });

  it('loads every function in a fresh node process outside the repository', async () => {
    const script = Object.keys(COLD_START_TARGET_KIB)
      .map((fn) => `typeof (await import(${JSON.stringify(join(outRoot, fn, 'index.mjs'))})).handler`)
      .join(', ');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        // The audit function builds its handler only where the runtime provides `awslambda`: a stand-in here.
        `globalThis.awslambda = { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } };
         process.stdout.write(JSON.stringify([${script}]));`,
      ],
      {
        cwd: outRoot,
        env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent' },
        timeout: 30_000,
      },
    );
    expect(JSON.parse(stdout)).toEqual(Object.keys(COLD_START_TARGET_KIB).map(() => 'function'));
  });

  it('serves /readyz from DynamoDB, with its config from SSM signed with the credentials in the environment', async () => {
    // A stand-in for SSM's JSON protocol: records who asked and answers GetParameters with the config as JSON,
    // the way infra stores it. The request must be signed with the environment's keys (the only provider left
    // in a bundle); a bundled file is named too, so reading it instead would pass unnoticed otherwise.
    const config = JSON.parse(readFileSync(lambdaEnv.BREAKGLASS_CONFIG!, 'utf8'));
    const seen: Array<{ target: string; authorization: string; names: string[] }> = [];
    const ssm = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        const names = (JSON.parse(body) as { Names: string[] }).Names;
        seen.push({
          target: String(request.headers['x-amz-target']),
          authorization: String(request.headers.authorization),
          names,
        });
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(
          JSON.stringify({
            Parameters: names.map((name) => ({ Name: name, Type: 'String', Value: JSON.stringify(config) })),
            InvalidParameters: [],
          }),
        );
      });
    });
    await new Promise<void>((resolve) => ssm.listen(0, '127.0.0.1', resolve));
    try {
      const port = (ssm.address() as AddressInfo).port;
      // No node_modules and no package.json of ours anywhere above: exactly what Lambda's /var/task looks like.
      const script = [
        `const { handler } = await import(${JSON.stringify(join(outRoot, 'http', 'index.mjs'))});`,
        `const event = ${JSON.stringify(urlEvent('GET', '/readyz'))};`,
        `const result = await handler(event, { awsRequestId: 'bundle-1', functionName: 'http', getRemainingTimeInMillis: () => 10000 });`,
        'process.stdout.write(JSON.stringify(result));',
      ].join('\n');
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        cwd: outRoot,
        env: {
          PATH: process.env.PATH ?? '',
          ...lambdaEnv,
          BREAKGLASS_CONFIG: 'no-such-file.json',
          BREAKGLASS_CONFIG_PARAMETER: '/breakglass/config',
          AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${port}`,
          AWS_ACCESS_KEY_ID: 'AKIDBUNDLETEST',
          AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
          AWS_SESSION_TOKEN: 'bundle-test-session',
          LAMBDA_TASK_ROOT: join(outRoot, 'http'),
          LOG_LEVEL: 'silent',
        },
        timeout: 30_000,
      });
      const result = JSON.parse(stdout) as { statusCode: number; body: string };
      expect(result.statusCode).toBe(200);
      expect(JSON.parse(result.body)).toMatchObject({ ok: true, checks: { dynamodb: { ok: true } } });
      expect(seen).toEqual([
        {
          target: 'AmazonSSM.GetParameters',
          authorization: expect.stringContaining('Credential=AKIDBUNDLETEST/'),
          names: ['/breakglass/config'],
        },
      ]);
    } finally {
      ssm.close();
    }
  });

  it('answers 503 and logs the error AWS named when SSM refuses, although the bundle keeps no SSM error classes', async () => {
    const ssm = createServer((_request, response) => {
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({
          __type: 'AccessDeniedException',
          message: 'explicit deny in a service control policy',
        }),
      );
    });
    await new Promise<void>((resolve) => ssm.listen(0, '127.0.0.1', resolve));
    try {
      const port = (ssm.address() as AddressInfo).port;
      // Log lines and the handler's result share stdout; the result's line is marked.
      const script = [
        `const { handler } = await import(${JSON.stringify(join(outRoot, 'http', 'index.mjs'))});`,
        `const event = ${JSON.stringify(urlEvent('GET', '/healthz'))};`,
        `const result = await handler(event, { awsRequestId: 'bundle-2', functionName: 'http', getRemainingTimeInMillis: () => 10000 });`,
        "process.stdout.write('RESULT ' + JSON.stringify(result));",
      ].join('\n');
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        cwd: outRoot,
        env: {
          PATH: process.env.PATH ?? '',
          ...lambdaEnv,
          BREAKGLASS_CONFIG_PARAMETER: '/breakglass/config',
          AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${port}`,
          AWS_ACCESS_KEY_ID: 'AKIDBUNDLETEST',
          AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
          LAMBDA_TASK_ROOT: join(outRoot, 'http'),
          LOG_LEVEL: 'error',
        },
        timeout: 30_000,
      });
      const lines = stdout.trim().split('\n');
      const result = lines.find((line) => line.startsWith('RESULT '));
      expect(JSON.parse(result!.slice('RESULT '.length))).toMatchObject({ statusCode: 503 });
      const failure = lines
        .filter((line) => line.startsWith('{'))
        .map(
          (line) =>
            JSON.parse(line) as { msg?: string; awsRequestId?: string; err?: Record<string, unknown> },
        )
        .find((line) => line.msg === 'broker failed to start');
      expect(failure).toMatchObject({
        awsRequestId: 'bundle-2',
        // `type` is the constructor's name, minified in a bundle; `name` is the error code AWS sent.
        err: {
          name: 'AccessDeniedException',
          message: 'explicit deny in a service control policy',
          $fault: 'client',
          $metadata: expect.objectContaining({ httpStatusCode: 400 }),
        },
      });
    } finally {
      ssm.close();
    }
  });

  it('keeps the adapters reading AWS errors by name in a bundle without the modeled error classes (IAM, S3)', async () => {
    const probeRoot = mkdtempSync(join(tmpdir(), 'bg-probe-'));
    await bundleLambdas({
      outRoot: probeRoot,
      quiet: true,
      entryPoints: { probe: 'test/support/bundled-aws-probe.ts' },
    });
    // IAM (query protocol, XML errors) and S3 (REST XML, path-style) on one stand-in.
    const aws = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        const xml = (status: number, text: string) => {
          response.writeHead(status, { 'content-type': 'text/xml' });
          response.end(text);
        };
        const iamError = (status: number, code: string) =>
          xml(
            status,
            `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${code} here</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
          );
        const s3Error = (status: number, code: string) =>
          xml(
            status,
            `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>no</Message><RequestId>r</RequestId></Error>`,
          );
        if (request.url === '/') {
          if (body.includes('Action=GetRolePolicy')) return iamError(404, 'NoSuchEntity');
          return iamError(403, 'AccessDenied');
        }
        if (request.url?.startsWith('/bunker/trail/events/missing.json')) return s3Error(404, 'NoSuchKey');
        if (request.method === 'PUT') return s3Error(412, 'PreconditionFailed');
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"seq":1}');
      });
    });
    await new Promise<void>((resolve) => aws.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(aws.address() as AddressInfo).port}`;
      const script = [
        `const { handler } = await import(${JSON.stringify(join(probeRoot, 'probe', 'index.mjs'))});`,
        `process.stdout.write(JSON.stringify(await handler(${JSON.stringify(endpoint)})));`,
      ].join('\n');
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        cwd: probeRoot,
        env: { PATH: process.env.PATH ?? '' },
        timeout: 30_000,
      });
      expect(JSON.parse(stdout)).toEqual({
        missingPolicy: { value: null },
        deniedPut: { error: { code: 'aws_access_denied', name: 'DomainError' } },
        missingObject: { value: null },
        replayedPut: { value: 'identical' },
      });
    } finally {
      aws.close();
    }
  });
});
