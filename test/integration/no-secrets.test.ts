/**
 * Invariant 6 for the core broker: bearer tokens (good or bad) never appear in log lines, error bodies or
 * audit events. The stack logs through the production logger (same redaction) into an array.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, testConfig } from '../support/fixtures.js';
import { captureLogs } from '../support/log-capture.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';
import { resign, unsignedToken } from '../support/tokens.js';

describe('no secrets in logs, error bodies or audit events', () => {
  const { logger, lines } = captureLogs('debug');
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ config: testConfig(), logger });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('rejected, refused and accepted tokens never leak, while the reason for a rejection is logged', async () => {
    const erin = await tokenFor(stack, 'erin');
    const alice = await tokenFor(stack, 'alice');
    const wrongAudience = await resign(stack, alice, { aud: 'another-api' });
    const unsigned = unsignedToken(alice);
    const garbage = `${'x'.repeat(40)}.${'y'.repeat(40)}.${'z'.repeat(40)}`;
    const secrets = [erin, alice, wrongAudience, unsigned, garbage];
    const bodies: string[] = [];

    const send = async (token: string, method: string, path: string, body?: unknown) => {
      const response = await fetch(`${stack.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          cookie: `bg_session=${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      bodies.push(await response.text());
      return response.status;
    };

    for (const bad of [wrongAudience, unsigned, garbage]) {
      expect(await send(bad, 'GET', '/v1/me')).toBe(401);
      expect(await send(bad, 'POST', '/v1/requests', { roleId: 'prod-readonly' })).toBe(401);
    }
    // Refused (403, audited), invalid (400) and accepted calls by real tokens.
    expect(
      await send(erin, 'POST', '/v1/requests', {
        roleId: 'prod-readonly',
        durationMinutes: 5,
        reason: 'curious',
      }),
    ).toBe(403);
    expect(await send(alice, 'POST', '/v1/requests', `{"reason": "${alice}"`)).toBe(400);
    expect(await send(alice, 'GET', '/v1/requests/not-an-id')).toBe(400);
    expect(
      await send(alice, 'POST', '/v1/requests', {
        roleId: 'prod-readonly',
        durationMinutes: 5,
        reason: 'fix',
      }),
    ).toBe(201);

    expect(lines.some((line) => line.includes('token rejected'))).toBe(true);
    expect(lines.some((line) => /ERR_JWT_CLAIM_VALIDATION_FAILED|aud/.test(line))).toBe(true);
    const events = JSON.stringify(await auditEvents(apiClient(stack, await tokenFor(stack, 'carol'))));
    expect(events).toContain('access.forbidden');

    for (const secret of secrets) {
      // The signature part alone is enough to replay a token; none of it may show up anywhere.
      const signature = secret.split('.')[2] || secret.split('.')[1]!;
      for (const [where, text] of [
        ['logs', lines.join('\n')],
        ['bodies', bodies.join('\n')],
        ['audit', events],
      ] as const) {
        expect(text.includes(secret), `${where} contain a token`).toBe(false);
        expect(text.includes(signature), `${where} contain a token signature`).toBe(false);
      }
    }
  });
});
