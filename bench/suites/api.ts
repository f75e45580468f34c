/**
 * API overhead over storage: `POST /v1/requests` and `POST /v1/requests/{id}/approve` over real HTTP with real
 * tokens from the development provider, against the same storage work done directly through DynamoStore on
 * the same DynamoDB Local. Samples alternate (one API call, one direct call) so drift in DynamoDB Local and the
 * JIT hits both sides alike. An API call is timed on the wire, from the request handed to the connection to the
 * response read; the client's own building of the request (about 0.2 ms in an idle worker thread on this VM) is
 * printed beside it, not counted, because no server can make it faster. Target: the API adds at most 20% on top
 * of its storage round trips, and those round trips are exactly one TransactWriteItems for a create and one
 * GetItem + one TransactWriteItems for an approval.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoOutbox } from '../../api/adapters/dynamodb/outbox.js';
import { JoseTokenVerifier } from '../../api/adapters/oidc/token-verifier.js';
import * as lifecycle from '../../api/domain/lifecycle.js';
import type { Caller } from '../../api/domain/types.js';
import { startDynamoDbLocal } from '../../api/local/dynamodb-local.js';
import { type LocalStack, startLocalStack } from '../../api/local/stack.js';
import { newUlid } from '../../api/ports/ids.js';
import { silentLogger } from '../../api/ports/logger.js';
import type { LifecycleListener } from '../../api/services/request-service.js';
import { benchConfig, devToken, percentile, WorkerHttpClient } from '../support.js';

export const name = 'api';

const SAMPLES = positiveInt(process.env.BENCH_API_SAMPLES, 300);
const WARMUP = positiveInt(process.env.BENCH_API_WARMUP, 30);
const TARGET_RATIO = 1.2;
const ROLE = 'prod-readonly';

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** Per-command DynamoDB round-trip times, measured inside the SDK client the broker itself uses. */
class DynamoTimer {
  private calls: Call[] = [];
  private inFlight = 0;
  private lastActivity = performance.now();

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const started = performance.now();
        this.inFlight += 1;
        try {
          return await next(args);
        } finally {
          this.inFlight -= 1;
          this.lastActivity = performance.now();
          const input = args.input as { TransactItems?: unknown[] };
          this.calls.push({
            command: String(context.commandName).replace(/Command$/, ''),
            ms: this.lastActivity - started,
            items: input.TransactItems?.length ?? 0,
          });
        }
      },
      { step: 'initialize', name: 'benchTimer' },
    );
  }

  /** Runs `work` and returns its wall time plus the DynamoDB calls made while it ran. */
  async measure(work: () => Promise<unknown>): Promise<Sample> {
    this.calls = [];
    const started = performance.now();
    await work();
    const total = performance.now() - started;
    const calls = this.calls;
    this.calls = [];
    return {
      total,
      storage: calls.reduce((sum, call) => sum + call.ms, 0),
      transaction: sumOf(calls, 'TransactWriteItems'),
      getItem: sumOf(calls, 'GetItem'),
      withClient: total,
      commands: calls.map((call) => (call.items > 0 ? `${call.command}(${call.items})` : call.command)),
      background: [],
    };
  }

  /**
   * Waits until the broker's post-commit work (lifecycle listeners such as notifications, which append their
   * own audit events) has finished, so that the next sample starts on a quiet table; returns the calls it made.
   */
  async settle(quietMs = 15): Promise<string[]> {
    while (this.inFlight > 0 || performance.now() - this.lastActivity < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const calls = this.calls.map((call) => call.command);
    this.calls = [];
    return calls;
  }
}

interface Call {
  command: string;
  ms: number;
  /** Items of a TransactWriteItems (0 for other commands). */
  items: number;
}

interface Sample {
  /**
   * Wall time of the whole operation: for the API the call on the wire (request handed to the connection →
   * response read), for direct the store calls and the domain decision before them.
   */
  total: number;
  /** The API's call including the client's building of the request (equal to `total` for direct samples). */
  withClient: number;
  /** Sum of the DynamoDB round trips made during it. */
  storage: number;
  /** The TransactWriteItems alone. */
  transaction: number;
  /** The GetItem calls (the request itself, for decisions). */
  getItem: number;
  commands: string[];
  /** Calls made after the operation returned (post-commit listeners), until the table was quiet again. */
  background: string[];
}

const sumOf = (calls: Call[], command: string) =>
  calls.filter((call) => call.command === command).reduce((sum, call) => sum + call.ms, 0);
const median = (samples: Sample[], pick: (sample: Sample) => number) => percentile(samples.map(pick), 50);
const ms = (value: number) => `${value.toFixed(2)} ms`;

const person = (name: string, groups: string[]): Caller => ({
  subject: name,
  email: `${name}@example.com`,
  groups,
  mfa: true,
  via: 'api',
});

export async function run(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bg-bench-'));
  const dynamo = await startDynamoDbLocal();
  let stack: LocalStack | null = null;
  let closeClient = async (): Promise<unknown> => undefined;
  try {
    stack = await startLocalStack({
      port: 0,
      dataDir,
      dynamodbEndpoint: dynamo.endpoint,
      tableName: 'bench',
      // Periodic batch work (sweeps, bunker shipping) would land on random samples; it has its own suites.
      sweepIntervalSeconds: 24 * 3600,
      shipIntervalSeconds: 24 * 3600,
      logger: silentLogger,
      config: benchConfig(),
    });
    // Sealing runs after each commit on its own client; it has its own suite (write-path). Stopped here so the
    // samples measure the commit path alone, as in AWS where the sealer is another function.
    await stack.sealing.stop();
    const { store } = stack.broker;
    const config = stack.config;
    const timer = new DynamoTimer(stack.broker.dynamodb);
    const outbox = new DynamoOutbox({ client: stack.broker.dynamodb, tableName: 'bench' });
    const [alice, bob] = await Promise.all([devToken(stack, 'alice'), devToken(stack, 'bob')]);
    const requester = person('alice', ['sre']);
    const approver = person('bob', ['sre-leads']);
    const body = { roleId: ROLE, durationMinutes: 60, reason: 'benchmark: investigate latency' };

    const http = new WorkerHttpClient(stack.url);
    closeClient = () => http.close();
    // The API's time is the call on the wire: from the request handed to the connection to the response read.
    // The client's own building of the request is kept apart (`withClientMs`) and printed beside it.
    let clientMs = 0;
    let withClientMs = 0;
    const apiCreate = async () => {
      const result = await http.post('/v1/requests', alice, body, 201);
      clientMs = result.wireMs;
      withClientMs = result.ms;
      return result.json.id!;
    };
    // The same storage work POST /v1/requests does: the domain decision, then DynamoStore.createRequest
    // (one TransactWriteItems with the request, its journal record, its event's timeline entry and the outbox
    // entry naming the effects the commit owes). The outbox entry is part of the API's transaction (the post-commit effects are
    // owed durably, in the same commit), so the direct call writes it too: without it the direct transaction has
    // one item fewer, which alone costs DynamoDB Local about 2 ms a call (each item of a transaction does), and
    // that would be counted as API overhead. Like the API's listeners, the direct side then settles (deletes) the
    // entry after the measured call, so the OUTBOX partition stays as small as the API leaves it.
    const owedOutbox: string[] = [];
    const settleDirectOutbox = async () => {
      for (const id of owedOutbox.splice(0)) await outbox.settle(id, [], true, new Date());
    };
    const directCreate = async () => {
      const outcome = lifecycle.createRequest(
        config,
        requester,
        // A real request id, as the service makes: the store writes timeline entries only for those.
        { ...body, id: `req_${newUlid()}` },
        new Date(),
      );
      const effects = stack!.broker.requests.effectsFor('change', outcome.events);
      const committed = await store.createRequest(outcome, undefined, effects);
      if (committed.outbox) owedOutbox.push(committed.outbox);
      return committed.request.id;
    };
    const apiApprove = async (id: string) => {
      const result = await http.post(`/v1/requests/${id}/approve`, bob, {}, 200);
      clientMs = result.wireMs;
      withClientMs = result.ms;
      if (result.json.status !== 'active') throw new Error(`approval left ${id} ${result.json.status}`);
    };
    // The same storage work an approval does: read the request, decide, DynamoStore.updateRequest
    // (one TransactWriteItems with the request, its journal record, a timeline entry for each of its three events
    // and the outbox entry, as above).
    const directApprove = async (id: string) => {
      const request = await store.getRequest(id);
      if (!request) throw new Error(`lost ${id}`);
      const outcome = lifecycle.approve(config, request, approver, null, new Date());
      const effects = stack!.broker.requests.effectsFor('change', outcome.events);
      const committed = await store.updateRequest(request.version, outcome, effects);
      if (committed.outbox) owedOutbox.push(committed.outbox);
      if (outcome.request.status !== 'active')
        throw new Error(`approval left ${id} ${outcome.request.status}`);
    };

    const samples = {
      apiCreate: [] as Sample[],
      directCreate: [] as Sample[],
      apiApprove: [] as Sample[],
      directApprove: [] as Sample[],
    };
    const apiIds: string[] = [];
    const directIds: string[] = [];
    const sample = async (work: () => Promise<unknown>) => {
      const measured = await timer.measure(work);
      await settleDirectOutbox();
      measured.background = await timer.settle();
      return measured;
    };
    await timer.settle();
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      let apiId = '';
      let directId = '';
      const a = await sample(async () => {
        apiId = await apiCreate();
      });
      a.total = clientMs;
      a.withClient = withClientMs;
      const d = await sample(async () => {
        directId = await directCreate();
      });
      apiIds.push(apiId);
      directIds.push(directId);
      if (i >= WARMUP) {
        samples.apiCreate.push(a);
        samples.directCreate.push(d);
      }
    }
    for (let i = 0; i < apiIds.length; i++) {
      const a = await sample(() => apiApprove(apiIds[i]!));
      a.total = clientMs;
      a.withClient = withClientMs;
      const d = await sample(() => directApprove(directIds[i]!));
      if (i >= WARMUP) {
        samples.apiApprove.push(a);
        samples.directApprove.push(d);
      }
    }

    // What the API does on top of storage, measured in isolation: bearer token verification (jose, RS256,
    // key set cached after the first call).
    const verifier = new JoseTokenVerifier(config.oidc);
    await verifier.verify(alice, { via: 'api' });
    const verifyTimes: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const started = performance.now();
      await verifier.verify(alice, { via: 'api' });
      verifyTimes.push(performance.now() - started);
    }

    // The HTTP floor: a loopback round trip to a route without storage, then one that also verifies the token.
    const floor = async (path: string, token?: string) => {
      const times: number[] = [];
      for (let i = 0; i < WARMUP + SAMPLES; i++) {
        const result = await http.send('GET', path, token);
        if (result.status !== 200) throw new Error(`${path}: HTTP ${result.status}`);
        if (i >= WARMUP) times.push(result.wireMs);
      }
      return times;
    };
    // What the post-commit lifecycle listeners cost the create path: the same calls with the listeners
    // detached (reaching into RequestService's private list: bench only), alternating with them attached.
    const listeners = (stack.broker.requests as unknown as { listeners?: LifecycleListener[] }).listeners;
    const listenerCost = { attached: [] as number[], detached: [] as number[], direct: [] as number[] };
    if (Array.isArray(listeners) && listeners.length > 0) {
      const attached = [...listeners];
      const rounds = Math.min(SAMPLES, 150);
      try {
        for (let i = 0; i < WARMUP + rounds; i++) {
          for (const mode of ['attached', 'detached'] as const) {
            listeners.splice(0, listeners.length, ...(mode === 'attached' ? attached : []));
            await sample(apiCreate);
            if (i >= WARMUP) listenerCost[mode].push(clientMs);
          }
          const d = await sample(directCreate);
          if (i >= WARMUP) listenerCost.direct.push(d.total);
        }
      } finally {
        listeners.splice(0, listeners.length, ...attached);
      }
    }
    const healthTimes = await floor('/healthz');
    const meTimes = await floor('/v1/me', alice);

    await stack.broker.sealer.run();
    const verdict = await stack.broker.audit.verifyStored();
    console.log(
      `${SAMPLES} samples per operation after ${WARMUP} warm-up calls, sequential, API and direct calls alternating;` +
        ` DynamoDB Local in memory; chain after the run: ${verdict.ok ? `intact, ${verdict.events} events` : `BROKEN at seq ${verdict.firstBadSeq}`}`,
    );
    report('POST /v1/requests', samples.apiCreate, samples.directCreate);
    report('POST /v1/requests/{id}/approve', samples.apiApprove, samples.directApprove);
    if (listenerCost.attached.length > 0) {
      const attached = percentile(listenerCost.attached, 50);
      const detached = percentile(listenerCost.detached, 50);
      const direct = percentile(listenerCost.direct, 50);
      console.log(
        `\npost-commit listeners (${listeners?.map((l) => l.name).join(', ')}), ${listenerCost.attached.length} creates each way:` +
          ` attached median ${ms(attached)}, detached median ${ms(detached)} (Δ ${ms(attached - detached)});` +
          ` api/storage without them = ${(detached / direct).toFixed(2)}x (target ≤ ${TARGET_RATIO}x)`,
      );
    }
    console.log(
      `token verification (jose jwtVerify RS256, cached JWKS), in process: median ${ms(percentile(verifyTimes, 50))}, p99 ${ms(percentile(verifyTimes, 99))}`,
    );
    console.log(
      `HTTP floor over loopback (node:http client in a worker thread, on the wire): GET /healthz median ${ms(percentile(healthTimes, 50))}, GET /v1/me (token verified) median ${ms(percentile(meTimes, 50))}`,
    );
    console.log(
      'the API adds per call: HTTP parsing and a JSON response over loopback, request id + security headers,' +
        ' body limit, bearer token verification, zod validation, the domain decision and the presentation of' +
        ' the request; its own DynamoDB round trips are the same as the direct path. Post-commit lifecycle' +
        ' listeners (notifications, AWS revocation and scheduling) start right after the commit and share the' +
        ' process and DynamoDB Local with it.',
    );
    if (!verdict.ok) process.exitCode = 1;
  } finally {
    await closeClient();
    await stack?.stop();
    await dynamo.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(label: string, api: Sample[], direct: Sample[]): void {
  const apiTotals = api.map((s) => s.total);
  const directTotals = direct.map((s) => s.total);
  const apiMedian = percentile(apiTotals, 50);
  const storageMedian = percentile(directTotals, 50);
  const transactionMedian = median(direct, (s) => s.transaction);
  const ratio = apiMedian / storageMedian;
  console.log(`\n${label}`);
  console.log(
    `  api over HTTP               median ${ms(apiMedian)}  p99 ${ms(percentile(apiTotals, 99))}  (on the wire; with the client building the request: median ${ms(median(api, (s) => s.withClient))})`,
  );
  console.log(
    `  same storage work, direct   median ${ms(storageMedian)}  p99 ${ms(percentile(directTotals, 99))}  (${describe(direct)})`,
  );
  console.log(
    `  bare TransactWriteItems     median ${ms(transactionMedian)}  (its GetItems: median ${ms(median(direct, (s) => s.getItem))} together)`,
  );
  console.log(
    `  the API's own TransactWriteItems median ${ms(median(api, (s) => s.transaction))}  (its GetItems: median ${ms(median(api, (s) => s.getItem))} together)`,
  );
  console.log(
    `  direct time outside DynamoDB median ${ms(median(direct, (s) => s.total - s.storage))} (domain decision, sealing, SDK marshalling)`,
  );
  console.log(
    `  api DynamoDB calls until the response (own + post-commit listeners): ${describe(api, (s) => s.commands)}`,
  );
  console.log(
    `  listener calls after the response: ${describe(api, (s) => s.background)} (not in the latency)`,
  );
  // The ratio only means something when both sides did the same storage work: the same calls, and the same
  // number of items in each transaction (each item costs DynamoDB Local time of its own).
  const same = typical(api).calls === typical(direct).calls;
  if (!same) {
    console.log(`  NOT the same storage work: api ${describe(api)}, direct ${describe(direct)}`);
    process.exitCode = 1;
  }
  console.log(
    `  api/storage = ${ratio.toFixed(2)}x (target ≤ ${TARGET_RATIO}x) ${ratio <= TARGET_RATIO && same ? 'ok' : 'MISSED'}`,
  );
  console.log(`  api/bare transaction = ${(apiMedian / transactionMedian).toFixed(2)}x`);
}

/** The DynamoDB calls of a typical sample, e.g. `GetItem + TransactWriteItems(5)`, and how many samples made them. */
function typical(
  samples: Sample[],
  pick: (sample: Sample) => string[] = (s) => s.commands,
): { calls: string; count: number } {
  const counts = new Map<string, number>();
  for (const sample of samples) {
    const key = pick(sample).join(' + ') || 'none';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const [most] = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  return most ? { calls: most[0], count: most[1] } : { calls: 'none', count: 0 };
}

function describe(samples: Sample[], pick?: (sample: Sample) => string[]): string {
  const { calls, count } = typical(samples, pick);
  return count === samples.length ? calls : `${calls} (in ${count} of ${samples.length})`;
}
