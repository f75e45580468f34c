/** Worker thread of `audit verify FILE`: reads one byte range of a large export and checks its lines. */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { exportParts } from '../api/domain/exports/jsonl.js';
import { rangeLines } from './verify-ranges.js';

interface Job {
  id: number;
  path: string;
  start: number;
  end: number;
}

parentPort?.on('message', ({ id, path, start, end }: Job) => {
  try {
    const fd = openSync(path, 'r');
    try {
      const read = (position: number, length: number) => {
        const buffer = Buffer.allocUnsafe(length);
        return buffer.subarray(0, readSync(fd, buffer, 0, length, position));
      };
      parentPort?.postMessage({ id, parts: exportParts(rangeLines(read, start, end)) });
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    parentPort?.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
