/** The production logger: pino, JSON lines, with secrets redacted whatever object is logged. */
import pino from 'pino';
import type { Logger } from '../../ports/logger.js';

/** Paths that must never reach a log line, whatever object is logged. */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'cookie',
  '*.SecretAccessKey',
  '*.SessionToken',
  '*.secretAccessKey',
  '*.sessionToken',
  'SecretAccessKey',
  'SessionToken',
  'token',
  '*.token',
  'accessToken',
  'refreshToken',
  'secret',
  '*.secret',
];

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
