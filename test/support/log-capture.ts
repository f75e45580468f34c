import { createLogger, type Logger } from '../../api/services/logger.js';

/** The production logger (same redaction), writing its lines into an array the test can search. */
export function captureLogs(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    level,
    destination: {
      write(line: string) {
        lines.push(line);
      },
    },
  });
  return { logger, lines };
}
