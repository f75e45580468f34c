/**
 * Worker threads for `audit verify FILE` on a large format /2 export. Each reads a byte range of the file itself
 * and checks its lines (`exportParts`); the chain check of a run of lines needs only its link to the run
 * before, which the main thread checks in file order (`verifyJsonlParts`). Nothing of the file passes between
 * threads but the small results, so the check uses every core.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ExportPart } from '../api/domain/exports/jsonl.js';
import { byteRanges } from './verify-ranges.js';

/** About 5,000 events a range: a few milliseconds of work per message, and little memory per worker. */
const RANGE_BYTES = 2 * 1024 * 1024;

export interface VerifyPool {
  readonly size: number;
  /** The parts of the lines starting in [start, end) of the file at `path`. */
  parts(path: string, start: number, end: number): Promise<ExportPart[]>;
  close(): Promise<void>;
}

interface Pending {
  resolve(parts: ExportPart[]): void;
  reject(error: Error): void;
}

type Reply = { id: number; parts: ExportPart[] } | { id: number; error: string };

/**
 * Starts `size` workers (one per core, at most four), or returns null on one core or where the compiled worker
 * is absent (the CLI run from its TypeScript sources, as in unit tests): verification then stays on one thread.
 */
export function openVerifyPool(size = Math.min(4, availableParallelism())): VerifyPool | null {
  const script = new URL('./verify-worker.js', import.meta.url);
  if (size < 2 || script.protocol !== 'file:' || !existsSync(fileURLToPath(script))) return null;
  const pending = new Map<number, Pending>();
  let next = 0;
  const workers = Array.from({ length: size }, () => {
    // No inherited Node flags: a parent started with `--input-type` or `-e` would make the worker fail to start.
    const worker = new Worker(script, { execArgv: [] });
    worker.on('message', (reply: Reply) => {
      const job = pending.get(reply.id);
      pending.delete(reply.id);
      if ('error' in reply) job?.reject(new Error(`audit verify worker: ${reply.error}`));
      else job?.resolve(reply.parts);
    });
    worker.on('error', (error) => {
      for (const job of pending.values()) job.reject(error);
      pending.clear();
    });
    return worker;
  });
  return {
    size,
    parts(path, start, end) {
      const id = next++;
      return new Promise<ExportPart[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        workers[id % size]!.postMessage({ id, path, start, end });
      });
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}

/** The file's parts in file order, a few ranges per worker under way at a time (memory stays flat). */
export async function* fileParts(
  pool: VerifyPool,
  path: string,
  size: number,
  rangeBytes = RANGE_BYTES,
): AsyncIterable<ExportPart[]> {
  const ranges = byteRanges(size, rangeBytes);
  const underWay: Array<Promise<ExportPart[]>> = [];
  let next = 0;
  while (next < ranges.length || underWay.length > 0) {
    while (next < ranges.length && underWay.length < pool.size * 2) {
      const [start, end] = ranges[next++]!;
      const parts = pool.parts(path, start, end);
      // Marked handled: once a failure ends the check, ranges still under way are not awaited.
      parts.catch(() => undefined);
      underWay.push(parts);
    }
    yield await underWay.shift()!;
  }
}
