/**
 * The Lambda functions' JSON-lines logger writes the lines pino writes with the same settings (the server's
 * logger), redaction and error cause chains included, so the functions' logs, metrics and alarms read the same.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createJsonLinesLogger } from '../../api/adapters/logging/json-lines.js';
import { REDACTED_PATHS } from '../../api/adapters/logging/redacted-paths.js';
import type { Logger } from '../../api/ports/logger.js';

const FIXED = new Date('2026-11-28T12:00:00.000Z');

function both(level = 'info'): { ours: Logger; theirs: Logger; lines: () => [string[], string[]] } {
  const ourLines: string[] = [];
  const theirLines: string[] = [];
  const mixin = () => ({ awsRequestId: 'req-1', functionName: 'fn' });
  const ours = createJsonLinesLogger({
    name: 'breakglass',
    level,
    redact: REDACTED_PATHS,
    censor: '[redacted]',
    mixin,
    destination: { write: (line) => ourLines.push(line) },
    now: () => FIXED,
  });
  const theirs = pino(
    {
      name: 'breakglass',
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: undefined,
      timestamp: () => `,"time":"${FIXED.toISOString()}"`,
      mixin,
    },
    { write: (line: string) => void theirLines.push(line) },
  ) as unknown as Logger;
  return { ours, theirs, lines: () => [ourLines, theirLines] };
}

describe('createJsonLinesLogger', () => {
  it('writes what pino writes: fields, child bindings, redaction, metrics, levels', () => {
    const { ours, theirs, lines } = both();
    const credentials = { AccessKeyId: 'AKIA', SecretAccessKey: 'shh', SessionToken: 'tok' };
    for (const logger of [ours, theirs]) {
      const child = logger.child({ component: 'grants', token: 'bound-secret' });
      child.info(
        { requestId: 'req_1', credentials, headers: { authorization: 'Bearer x', accept: '*/*' } },
        'issued',
      );
      logger.warn({ auditType: 'revocation.failed', _aws: { Timestamp: 1 }, RevocationFailures: 1 }, 'seen');
      logger.info({ secret: 's', nested: { secret: 's', keep: 1 }, list: [1, { token: 't' }] });
      logger.debug({ hidden: true }, 'below the level');
      logger.error({ when: FIXED, big: 10n, none: undefined }, 'values');
    }
    const [mine, pinos] = lines();
    expect(mine).toHaveLength(4);
    expect(mine.map((line) => JSON.parse(line))).toEqual(pinos.map((line) => JSON.parse(line)));
    expect(mine.join('')).not.toMatch(/shh|tok"|bound-secret|Bearer x/);
  });

  it("serializes `err` like pino: type, the cause chain's messages and stacks, the error's own fields", () => {
    const { ours, theirs, lines } = both();
    const root = new TypeError('socket hang up');
    const aws = Object.assign(new Error('explicit deny in a service control policy', { cause: root }), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403, requestId: 'r-1' },
    });
    const wrapped = Object.assign(new Error('iam:PutRolePolicy failed', { cause: aws }), {
      code: 'aws_access_denied',
    });
    for (const logger of [ours, theirs])
      logger.error({ err: wrapped, requestId: 'req_2' }, 'revocation failed');
    const [[mine], [theirsLine]] = lines();
    expect(JSON.parse(mine!)).toEqual(JSON.parse(theirsLine!));
    expect(JSON.parse(mine!).err.message).toBe(
      'iam:PutRolePolicy failed: explicit deny in a service control policy: socket hang up',
    );
  });

  it('writes nothing when silent, and a repeated object on its own path as [Circular]', () => {
    const silent = both('silent');
    silent.ours.error({ err: new Error('x') }, 'nothing');
    expect(silent.lines()[0]).toEqual([]);
    const { ours, lines } = both();
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    const shared = { b: 2 };
    ours.info({ loop, one: shared, two: shared }, 'shapes');
    const line = JSON.parse(lines()[0][0]!);
    expect(line.loop).toEqual({ a: 1, self: '[Circular]' });
    expect(line.two).toEqual({ b: 2 });
    // The caller's objects are left as they were: redaction works on copies.
    const headers = { authorization: 'Bearer y' };
    ours.info({ headers }, 'copy');
    expect(headers.authorization).toBe('Bearer y');
  });
});
