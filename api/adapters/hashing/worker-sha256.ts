/**
 * A TextHasher that hashes on a worker thread, so a large export's file-wide SHA-256 runs beside the per-event
 * chain check instead of after it on the same thread (`audit verify FILE` on a multi-core machine). Text is
 * handed over in the stretches the verifier passes (a structured clone: a copy, cheap beside hashing it).
 */
import { Worker } from 'node:worker_threads';
import type { TextHasher } from '../../ports/text-hasher.js';

/** The worker's whole program: hash what arrives, answer the digest on `null`. CommonJS, run from a string. */
const PROGRAM = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (text) => {
  if (text === null) parentPort.postMessage(hash.digest('hex'));
  else hash.update(text);
});
`;

export function workerSha256(): TextHasher {
  const worker = new Worker(PROGRAM, { eval: true });
  // Only the digest's wait keeps the process alive; an abandoned hasher never holds a CLI open.
  worker.unref();
  let failure: Error | null = null;
  worker.once('error', (error) => {
    failure = error;
  });
  return {
    update(text) {
      if (text && !failure) worker.postMessage(text);
    },
    digest() {
      return new Promise<string>((resolve, reject) => {
        if (failure) {
          reject(failure);
          return;
        }
        worker.ref();
        worker.once('message', (hex: string) => {
          void worker.terminate();
          resolve(hex);
        });
        worker.once('error', reject);
        worker.postMessage(null);
      });
    },
    close() {
      void worker.terminate();
    },
  };
}
