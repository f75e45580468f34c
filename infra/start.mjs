#!/usr/bin/env node
/**
 * `npm start`: compile when dist/ is not current, then run the local stack in this same process. One Node
 * start instead of a `prestart` script's shell and Node plus another for the stack: a few hundred
 * milliseconds of the ready-in-6-seconds budget.
 */
import { buildIfStale } from './build-if-stale.mjs';

const status = buildIfStale();
if (status !== 0) process.exit(status);
await import('../dist/api/local/main.js');
