/**
 * `kill -9` of the broker in the middle of a burst. The broker runs as a child process (the built local stack)
 * against the suite's DynamoDB Local, with a webhook receiver in this process. For several seeds, a burst of
 * creates and approvals is cut by SIGKILL at a seeded moment; a new broker starts on the same table. Then:
 * every committed event is sealed exactly once with no gap (the chain verifies), and every committed event
 * reaches the webhook (receivers dedupe by X-Breakglass-Delivery) or its final failure is audited.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { DynamoStore } from '../../api/adapters/dynamodb/store.js';
import { dynamoClientFor } from '../../api/compose.js';
import { exampleConfigPath } from '../../api/config/load.js';
import { verifyChain } from '../../api/domain/audit-chain.js';
import type { AuditEvent } from '../../api/domain/types.js';
import { PACKAGE_ROOT } from '../../api/package-root.js';
import { systemClock } from '../../api/ports/clock.js';

const MAIN = join(PACKAGE_ROOT, 'dist/api/local/main.js');
const SEEDS = [11, 23, 57];

/** A small deterministic generator, so a failing seed can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Broker {
  child: ChildProcess;
  url: string;
}

async function startBroker(env: Record<string, string>): Promise<Broker> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...env, PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${output}`)), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Breakglass is running at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`broker exited ${code}:\n${output}`)));
  });
  return { child, url };
}

async function token(url: string, username: string): Promise<string> {
  const response = await fetch(`${url}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:breakglass:params:oauth:grant-type:dev-user',
      username,
      client_id: 'breakglass-cli',
    }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token for ${username}`);
  return body.access_token;
}

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(!existsSync(MAIN))('kill -9 of the broker in the middle of a burst', () => {
  const delivered = new Set<string>();
  /** What the kills left for the restarted broker, over all seeds: the recovery paths must have run. */
  const recovered = { effects: 0, unsealed: 0 };
  let receiver: Server;
  let hookUrl = '';
  const endpoint = inject('dynamodbEndpoint');
  const client = dynamoClientFor('us-east-1', endpoint);

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const id = req.headers['x-breakglass-delivery'];
      if (typeof id === 'string') delivered.add(id);
      req.resume();
      // A slow receiver keeps deliveries in flight, so the kill leaves effects owed.
      req.on('end', () => setTimeout(() => res.writeHead(204).end(), 150));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver?.close(resolve));
    client.destroy();
  });

  it.each(SEEDS)(
    'seed %i: no committed event is lost, doubled or left undelivered',
    async (seed) => {
      const rand = random(seed);
      const dataDir = mkdtempSync(join(tmpdir(), `bg-crash-${seed}-`));
      const table = `crash${seed}${Date.now().toString(36)}`;
      const raw = parse(readFileSync(exampleConfigPath, 'utf8')) as Record<string, unknown>;
      raw.notifications = { webhooks: [{ url: hookUrl, secretEnv: 'CRASH_HOOK_SECRET' }] };
      const configPath = join(dataDir, 'breakglass.json');
      writeFileSync(configPath, JSON.stringify(raw));
      const env = {
        BREAKGLASS_CONFIG: configPath,
        BREAKGLASS_DATA_DIR: dataDir,
        BREAKGLASS_DYNAMODB_ENDPOINT: endpoint,
        BREAKGLASS_TABLE: table,
        CRASH_HOOK_SECRET: 'crash-test-secret',
      };

      const first = await startBroker(env);
      const alice = await token(first.url, 'alice');
      const bob = await token(first.url, 'bob');
      const post = (path: string, bearer: string, body: unknown) =>
        fetch(`${first.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).then(async (response) => ({
          status: response.status,
          body: (await response.json()) as { id?: string },
        }));
      let answered = 0;
      const burst = Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 40; i++) {
          const created = await post('/v1/requests', alice, {
            roleId: 'prod-readonly',
            durationMinutes: 30,
            reason: `crash test ${seed}`,
          });
          answered += 1;
          if (created.body.id && rand() < 0.7) {
            await post(`/v1/requests/${created.body.id}/approve`, bob, {});
            answered += 1;
          }
        }
      }).map((worker) => worker.catch(() => undefined));
      await until('the burst to get going', async () => (answered >= 5 ? true : null));
      await new Promise((resolve) => setTimeout(resolve, 50 + rand() * 700));
      first.child.kill('SIGKILL');
      await Promise.all(burst);
      const owedEffects =
        (
          await client.send(
            new QueryCommand({
              TableName: table,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': { S: 'OUTBOX' } },
              Select: 'COUNT',
            }),
          )
        ).Count ?? 0;
      // Events committed but not sealed: the journal records after each slot's cursor.
      const { count: unsealed } = await new DynamoStore({
        client,
        tableName: table,
        clock: systemClock,
        simulated: true,
      }).backlog();
      recovered.effects += owedEffects;
      recovered.unsealed += unsealed;

      const second = await startBroker(env);
      try {
        const store = new DynamoStore({ client, tableName: table, clock: systemClock, simulated: true });
        // Every committed event, sealed or not: the journal entries of the table.
        const committed = async () => {
          const ids: { id: string; sealed: boolean }[] = [];
          let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
          do {
            const page = await client.send(
              new QueryCommand({
                TableName: table,
                IndexName: 'byCreated',
                KeyConditionExpression: 'gsi4pk = :pk',
                ExpressionAttributeValues: { ':pk': { S: 'REQUESTS' } },
                ...(startKey ? { ExclusiveStartKey: startKey } : {}),
              }),
            );
            for (const item of page.Items ?? []) {
              for (const event of await store.requestEvents(String(unmarshall(item).id))) {
                ids.push({ id: event.id, sealed: event.seq !== undefined });
              }
            }
            startKey = page.LastEvaluatedKey;
          } while (startKey);
          return ids;
        };
        const entries = await until('every committed event to be sealed', async () => {
          const all = await committed();
          return all.length > 0 && all.every((entry) => entry.sealed) ? all : null;
        });
        const chain: AuditEvent[] = [];
        for await (const event of store.readEvents()) chain.push(event);
        const verdict = verifyChain(chain);
        const sealedIds = chain.map((event) => event.id);
        const failedEffects = chain.filter((event) => event.type === 'effect.failed');
        await until('every committed request event to reach the webhook', async () =>
          entries.every((entry) => delivered.has(entry.id)) ? true : null,
        );
        console.log(
          `seed ${seed}: ${answered} calls answered before SIGKILL; ${entries.length} request events committed,` +
            ` chain of ${chain.length} (${verdict.ok ? 'verifies' : 'BROKEN'}), ${new Set(sealedIds).size} distinct,` +
            ` all delivered; left by the kill: ${owedEffects} outbox entries, ${unsealed} unsealed events;` +
            ` ${failedEffects.length} effect.failed`,
        );
        expect(verdict.ok).toBe(true);
        expect(new Set(sealedIds).size).toBe(sealedIds.length);
        expect(chain.map((event) => event.seq)).toEqual(chain.map((_, index) => index + 1));
        for (const entry of entries) expect(sealedIds).toContain(entry.id);
      } finally {
        second.child.kill('SIGTERM');
        await new Promise((resolve) => second.child.once('exit', resolve));
      }
    },
    240_000,
  );

  it('the kills left owed effects and unsealed events behind, so recovery was exercised', () => {
    expect(recovered.effects).toBeGreaterThan(0);
    expect(recovered.unsealed + recovered.effects).toBeGreaterThan(0);
  });
});
