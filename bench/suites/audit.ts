/**
 * Audit export and verification over a generated history (100,000 events by default) held in DynamoDB Local in
 * the sealer's layout. Targets: a JSONL export read from DynamoDB reaches ≥ 70 % of the throughput of a bare
 * paginated Query over the same items (the export adds only parsing, serialising and hashing); `audit verify`
 * reaches ≥ 50 % of the floor of any chain verifier, one SHA-256 per event over its own line, both on one
 * warmed-up thread over text in memory. `breakglass audit verify FILE` as the CLI runs it (read from disk, a large
 * export's event lines on fresh worker threads) is printed beside it. Peak RSS is the process's `maxRSS` (the
 * kernel's high-water mark), which a busy loop cannot hide from a timer.
 */
import { hash as hashOne } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoStore } from '../../api/adapters/dynamodb/store.js';
import { ensureTable } from '../../api/adapters/dynamodb/table.js';
import { dynamoClientFor } from '../../api/compose.js';
import { startDynamoDbLocal } from '../../api/local/dynamodb-local.js';
import { exportJsonl } from '../../api/services/audit-export.js';
import { verifyJsonlText } from '../../api/services/audit-verify.js';
import { verifyPath } from '../../cli/verify-path.js';
import { generateHistory } from '../fixtures/audit-history.js';
import { writeSealedHistory } from '../fixtures/audit-table.js';
import { percentile } from '../support.js';

export const name = 'audit';
const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 100_000);
const EXPORT_TARGET = 0.7;
const VERIFY_TARGET = 0.5;
/** Timed passes of the bare Query and the export each, alternating, after one untimed Query. */
const EXPORT_PASSES = Math.max(1, Number(process.env.BENCH_AUDIT_EXPORT_PASSES ?? 3));
/** Timed passes of floor and verify each, after one untimed warm-up pass. */
const VERIFY_PASSES = Math.max(1, Number(process.env.BENCH_AUDIT_VERIFY_PASSES ?? 9));

const rate = (count: number, ms: number) => Math.round((count / ms) * 1000).toLocaleString('en-US');
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
const peakMb = () => Math.round((process.resourceUsage().maxRSS * 1024) / 1e6);

async function* toLines(chunks: Iterable<string>): AsyncIterable<string> {
  let rest = '';
  for (const chunk of chunks) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    yield* parts;
  }
  if (rest) yield rest;
}

async function* fromChunks(chunks: Iterable<string>): AsyncIterable<string> {
  yield* chunks;
}

export async function run(): Promise<void> {
  const dynamo = await startDynamoDbLocal();
  const client = dynamoClientFor('us-east-1', dynamo.endpoint, { requestTimeoutMs: 60_000 });
  const tableName = 'benchaudit';
  try {
    await ensureTable(client, tableName);
    let started = performance.now();
    await writeSealedHistory(client, tableName, generateHistory(EVENTS), 4);
    console.log(
      `events                  ${EVENTS.toLocaleString('en-US')} written to DynamoDB Local in ${((performance.now() - started) / 1000).toFixed(1)} s (setup, not measured)`,
    );
    const rssBefore = peakMb();

    // The floor for reading: a bare paginated Query over the audit partition (the chain blocks: the same items and
    // bytes the export reads), items left as they arrive, events neither split nor parsed. The
    // first pass warms DynamoDB Local (its JIT and page cache) and is not timed, so neither side gets it cold.
    const bareQuery = async () => {
      let count = 0;
      let startKey: Record<string, never> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: 'AUDIT' } },
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        count += page.Items?.length ?? 0;
        startKey = page.LastEvaluatedKey as typeof startKey;
      } while (startKey);
      return count;
    };
    // The export the route streams, read from the same table, chunks kept for the verify measurement. Query and
    // export alternate, so load from anything else on the machine hits both alike; medians are compared.
    const store = new DynamoStore({ client, tableName, clock: { now: () => new Date() }, simulated: true });
    await bareQuery();
    const queryTimes: number[] = [];
    const exportTimes: number[] = [];
    let chunks: string[] = [];
    let items = 0;
    for (let pass = 0; pass < EXPORT_PASSES; pass++) {
      started = performance.now();
      items = await bareQuery();
      queryTimes.push(performance.now() - started);
      if (items === 0) throw new Error('the audit partition is empty');
      chunks = [];
      started = performance.now();
      for await (const chunk of exportJsonl(store.readEvents(), { now: () => new Date() }))
        chunks.push(chunk);
      exportTimes.push(performance.now() - started);
    }
    const queryMs = percentile(queryTimes, 50);
    const exportMs = percentile(exportTimes, 50);
    const bytes = chunks.reduce((sum, chunk) => sum + Buffer.byteLength(chunk), 0);

    const lines: string[] = [];
    for await (const line of toLines(chunks)) lines.push(line);
    const floorPass = () => {
      const passStarted = performance.now();
      for (const line of lines) if (line) hashOne('sha256', line);
      return performance.now() - passStarted;
    };
    const dir = mkdtempSync(join(tmpdir(), 'bg-bench-audit-'));
    const file = join(dir, 'export.jsonl');
    writeFileSync(file, chunks.join(''));
    const timed = async (verify: () => Promise<{ ok: boolean }>) => {
      const passStarted = performance.now();
      const report = await verify();
      if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report)}`);
      return performance.now() - passStarted;
    };
    const options = { trusted: null, allowUnsigned: true };
    // The check on one thread, text chunks already in memory: what the floor is compared with.
    const verifyPass = () => timed(() => verifyJsonlText(fromChunks(chunks), options));
    // As `breakglass audit verify FILE` runs it: read from disk, event lines on worker threads started for it.
    const cliPass = () => timed(() => verifyPath(file, options));
    // DynamoDB Local is done with: its JVM would otherwise keep a core busy now and then (its own GC) during
    // the passes below, which use no storage. (stop() is safe to call again in `finally`.)
    await dynamo.stop();
    // Floor and verify alternate, so load from anything else on the machine hits both alike; the first pass of
    // each warms the JIT and is not counted (a one-off verify of 100,000 events spends a third of its time
    // compiling), and the median of the others is reported. The CLI's passes (worker threads started and torn
    // down each time) alternate with floor passes of their own, after: their teardown would otherwise overlap
    // the next one-thread pass.
    const alternate = async (pass: () => Promise<number>) => {
      const floorTimes: number[] = [];
      const times: number[] = [];
      for (let round = 0; round <= VERIFY_PASSES; round++) {
        const floorTime = floorPass();
        const time = await pass();
        if (round === 0) continue;
        floorTimes.push(floorTime);
        times.push(time);
      }
      return { floorMs: percentile(floorTimes, 50), ms: percentile(times, 50) };
    };
    const { floorMs, ms: verifyMs } = await alternate(verifyPass);
    const { floorMs: cliFloorMs, ms: cliMs } = await alternate(cliPass);
    rmSync(dir, { recursive: true, force: true });

    const exportRatio = queryMs / exportMs;
    const verifyRatio = floorMs / verifyMs;
    console.log(
      `bare paginated Query    ${rate(EVENTS, queryMs)} events/s (${items.toLocaleString('en-US')} chain blocks holding ${EVENTS.toLocaleString('en-US')} events, items left as they arrive)`,
    );
    console.log(
      `export jsonl from DDB   ${rate(EVENTS, exportMs)} events/s (${(bytes / 1e6).toFixed(1)} MB) = ${(exportRatio * 100).toFixed(0)} % of the bare Query (medians of ${EXPORT_PASSES} alternating passes; target ≥ ${EXPORT_TARGET * 100} %) ${verdict(exportRatio >= EXPORT_TARGET)}`,
    );
    console.log(
      `sha-256 per event       ${rate(EVENTS, floorMs)} events/s (the floor of any chain verifier; medians of ${VERIFY_PASSES} alternating passes after a warm-up)`,
    );
    console.log(
      `verify jsonl            ${rate(EVENTS, verifyMs)} events/s = ${(verifyRatio * 100).toFixed(0)} % of one SHA-256 per event (target ≥ ${VERIFY_TARGET * 100} %) ${verdict(verifyRatio >= VERIFY_TARGET)}`,
    );
    console.log(
      `audit verify FILE       ${rate(EVENTS, cliMs)} events/s = ${((cliFloorMs / cliMs) * 100).toFixed(0)} % of its own floor passes (read from disk; ${(bytes / 1e6).toFixed(0)} MB ${bytes >= 32 * 1024 * 1024 ? `on ${Math.min(4, availableParallelism())} worker threads started for each pass, on ${availableParallelism()} cores` : 'on one thread, under the worker threshold'})`,
    );
    console.log(
      `peak RSS (maxRSS)       ${peakMb()} MB (${rssBefore} MB before reading; includes the ${(bytes / 1e6).toFixed(0)} MB export this bench keeps in memory to time verify on its own)`,
    );
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}
