/**
 * English messages for the zod/mini schemas (config, transition payloads): zod/mini loads no locale of its own,
 * and the classic API, which the HTTP layer uses, would set English only once one of its schemas is built. Each
 * module that builds mini schemas imports this file for its effect.
 *
 * Why mini: its schemas tree-shake, so a function that only reads config (transition, sweeper, shipper) bundles
 * zod's core and the checks it names (~30 KiB) instead of the classic API, whose schema objects carry every method
 * and the JSON-schema conversion (~190 KiB). Checks, messages and issue paths are the classic API's own (its
 * `.min(1)` is `.check(z.minLength(1))`), so a config error still lists every problem by path, word for word.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());
