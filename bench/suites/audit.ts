/**
 * Audit export and verification throughput over a generated 100,000-event history, next to raw SHA-256 over
 * the same bytes (verification must reach at least half of raw hashing). Also reports peak RSS, which must stay
 * flat: the export and the verifier stream.
 */
import { createHash, hash as hashOne } from 'node:crypto';
import { exportCsv, exportJsonl } from '../../api/services/audit-export.js';
import { verifyJsonl } from '../../api/services/audit-verify.js';
import { generateHistory } from '../fixtures/audit-history.js';

export const name = 'audit';
const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 100_000);

async function* streamHistory() {
  yield* generateHistory(EVENTS);
}

async function* toLines(chunks: AsyncIterable<string>): AsyncIterable<string> {
  let rest = '';
  for await (const chunk of chunks) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    yield* parts;
  }
  if (rest) yield rest;
}

function rate(count: number, ms: number) {
  return Math.round((count / ms) * 1000).toLocaleString('en-US');
}

export async function run(): Promise<void> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const baseline = process.memoryUsage().rss;
  try {
    // Materialise the JSONL once (generation is not what we measure) as an array of chunks.
    const chunks: string[] = [];
    let started = performance.now();
    for await (const chunk of exportJsonl(streamHistory(), { now: () => new Date() })) chunks.push(chunk);
    const exportMs = performance.now() - started;
    const bytes = chunks.reduce((sum, chunk) => sum + Buffer.byteLength(chunk), 0);

    started = performance.now();
    let csvBytes = 0;
    for await (const chunk of exportCsv(streamHistory())) csvBytes += chunk.length;
    const csvMs = performance.now() - started;

    started = performance.now();
    const hash = createHash('sha256');
    for (const chunk of chunks) hash.update(chunk);
    hash.digest();
    const rawMs = performance.now() - started;

    // The work a chain verifier cannot avoid: one SHA-256 per event over its own bytes.
    const lines = chunks.join('').split('\n');
    started = performance.now();
    for (const line of lines) if (line) hashOne('sha256', line);
    const perEventMs = performance.now() - started;

    async function* fromChunks() {
      yield* chunks;
    }
    started = performance.now();
    const report = await verifyJsonl(toLines(fromChunks()));
    const verifyMs = performance.now() - started;
    if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report)}`);

    console.log(
      `events                 ${EVENTS.toLocaleString('en-US')} (${(bytes / 1e6).toFixed(1)} MB JSONL, ${(csvBytes / 1e6).toFixed(1)} MB CSV)`,
    );
    console.log(
      `export jsonl           ${rate(EVENTS, exportMs)} events/s (includes generating and sealing)`,
    );
    console.log(`export csv             ${rate(EVENTS, csvMs)} events/s (includes generating and sealing)`);
    console.log(`verify jsonl           ${rate(EVENTS, verifyMs)} events/s`);
    console.log(
      `raw sha-256, same bytes ${rate(EVENTS, rawMs)} events/s (${(bytes / 1e6 / (rawMs / 1000)).toFixed(0)} MB/s)`,
    );
    console.log(`verify / raw hashing   ${((rawMs / verifyMs) * 100).toFixed(1)} %  (target ≥ 50 %)`);
    console.log(
      `sha-256 per event      ${rate(EVENTS, perEventMs)} events/s (one hash per line: the floor of any chain verifier)`,
    );
    console.log(
      `verify / per-event     ${((perEventMs / verifyMs) * 100).toFixed(1)} %  (for context, not the target)`,
    );
    console.log(
      `peak RSS               ${Math.round(peak / 1e6)} MB (baseline ${Math.round(baseline / 1e6)} MB; the JSONL held in memory for the raw-hash comparison is ${(bytes / 1e6).toFixed(0)} MB)`,
    );
  } finally {
    clearInterval(sampler);
  }
}
