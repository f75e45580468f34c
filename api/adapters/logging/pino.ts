/** The production logger: pino, JSON lines, with secrets redacted whatever object is logged. */
import pino from 'pino';
import type { Logger } from '../../ports/logger.js';
import { REDACTED_PATHS } from './redacted-paths.js';

export { REDACTED_PATHS } from './redacted-paths.js';

export function createLogger(
  options: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  const settings: pino.LoggerOptions = {
    name: options.name ?? 'breakglass',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // A destination lets tests read exactly what production would write, redaction included.
  return (options.destination ? pino(settings, options.destination) : pino(settings)) as unknown as Logger;
}
