import { createLogger } from '../../api/adapters/logging/pino.js';
import type { Logger } from '../../api/ports/logger.js';

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
