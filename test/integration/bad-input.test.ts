/**
 * Bad input never yields a 5xx: every malformed, mistyped, out-of-policy or oversized request gets a 4xx
 * `application/problem+json` with a stable code and the request id, and no stack trace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, TEST_USERS, testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
}

const VALID = { roleId: 'prod-readonly', durationMinutes: 30, reason: 'incident response' };
const future = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

type Case = [
  name: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
  status: number,
  code: string,
];

const cases: Case[] = [
  ['malformed JSON', 'POST', '/v1/requests', '{"roleId": "prod-readonly",', {}, 400, 'malformed_json'],
  ['an empty body', 'POST', '/v1/requests', '', {}, 400, 'malformed_json'],
  ['a JSON array', 'POST', '/v1/requests', '[]', {}, 400, 'validation_failed'],
  ['JSON null', 'POST', '/v1/requests', 'null', {}, 400, 'validation_failed'],
  [
    'a string duration',
    'POST',
    '/v1/requests',
    { ...VALID, durationMinutes: '30' },
    {},
    400,
    'validation_failed',
  ],
  ['a numeric reason', 'POST', '/v1/requests', { ...VALID, reason: 42 }, {}, 400, 'validation_failed'],
  [
    'a string emergency flag',
    'POST',
    '/v1/requests',
    { ...VALID, emergency: 'yes' },
    {},
    400,
    'validation_failed',
  ],
  [
    'a missing role',
    'POST',
    '/v1/requests',
    { durationMinutes: 30, reason: 'why' },
    {},
    400,
    'validation_failed',
  ],
  ['an unknown role', 'POST', '/v1/requests', { ...VALID, roleId: 'prod-root' }, {}, 422, 'unknown_role'],
  ['a zero duration', 'POST', '/v1/requests', { ...VALID, durationMinutes: 0 }, {}, 400, 'validation_failed'],
  [
    'a negative duration',
    'POST',
    '/v1/requests',
    { ...VALID, durationMinutes: -5 },
    {},
    400,
    'validation_failed',
  ],
  [
    'a fractional duration',
    'POST',
    '/v1/requests',
    { ...VALID, durationMinutes: 1.5 },
    {},
    400,
    'validation_failed',
  ],
  [
    'a duration over the role maximum',
    'POST',
    '/v1/requests',
    { ...VALID, durationMinutes: 481 },
    {},
    422,
    'duration_out_of_range',
  ],
  [
    'an absurd duration',
    'POST',
    '/v1/requests',
    { ...VALID, durationMinutes: 1e12 },
    {},
    400,
    'validation_failed',
  ],
  [
    'a missing required ticket',
    'POST',
    '/v1/requests',
    { ...VALID, roleId: 'prod-admin' },
    {},
    422,
    'ticket_required',
  ],
  [
    'a malformed ticket',
    'POST',
    '/v1/requests',
    { ...VALID, roleId: 'prod-admin', ticket: 'JIRA-1' },
    {},
    422,
    'ticket_invalid',
  ],
  [
    'a blank ticket',
    'POST',
    '/v1/requests',
    { ...VALID, roleId: 'prod-admin', ticket: '   ' },
    {},
    400,
    'validation_failed',
  ],
  [
    'emergency on a role without it',
    'POST',
    '/v1/requests',
    { ...VALID, ticket: 'INC-1', emergency: true },
    {},
    422,
    'emergency_not_allowed',
  ],
  ['a blank reason', 'POST', '/v1/requests', { ...VALID, reason: '   ' }, {}, 400, 'validation_failed'],
  [
    'a huge reason',
    'POST',
    '/v1/requests',
    { ...VALID, reason: 'x'.repeat(1001) },
    {},
    400,
    'validation_failed',
  ],
  [
    'a start that is not a time',
    'POST',
    '/v1/requests',
    { ...VALID, startAt: 'tomorrow' },
    {},
    400,
    'validation_failed',
  ],
  [
    'a start in the past',
    'POST',
    '/v1/requests',
    { ...VALID, startAt: future(-60) },
    {},
    422,
    'start_out_of_range',
  ],
  [
    'a start too far ahead',
    'POST',
    '/v1/requests',
    { ...VALID, startAt: future(8 * 24 * 60) },
    {},
    422,
    'start_out_of_range',
  ],
  [
    'an unknown field',
    'POST',
    '/v1/requests',
    { ...VALID, approvalsRequired: 0 },
    {},
    400,
    'validation_failed',
  ],
  [
    'a prototype-pollution field',
    'POST',
    '/v1/requests',
    `{"roleId":"prod-readonly","durationMinutes":30,"reason":"why","__proto__":{"admin":true}}`,
    {},
    400,
    'validation_failed',
  ],
  [
    'an oversized body',
    'POST',
    '/v1/requests',
    { ...VALID, reason: 'x'.repeat(20_000) },
    {},
    413,
    'payload_too_large',
  ],
  [
    'a text/plain body',
    'POST',
    '/v1/requests',
    JSON.stringify(VALID),
    { 'content-type': 'text/plain' },
    415,
    'unsupported_media_type',
  ],
  [
    'a form body',
    'POST',
    '/v1/requests',
    'roleId=prod-readonly',
    { 'content-type': 'application/x-www-form-urlencoded' },
    415,
    'unsupported_media_type',
  ],
  [
    'a malformed Idempotency-Key',
    'POST',
    '/v1/requests',
    VALID,
    { 'idempotency-key': 'a b' },
    400,
    'validation_failed',
  ],
  ['a request id that is not one', 'GET', '/v1/requests/123', undefined, {}, 400, 'validation_failed'],
  [
    'a request id with path tricks',
    'POST',
    '/v1/requests/req_..%2F..%2Faudit/approve',
    {},
    {},
    400,
    'validation_failed',
  ],
  [
    'a well-formed id that does not exist',
    'GET',
    '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
    undefined,
    {},
    404,
    'not_found',
  ],
  [
    'approving a missing request',
    'POST',
    '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D/approve',
    {},
    {},
    404,
    'not_found',
  ],
  [
    'an unknown field on approve',
    'POST',
    '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D/approve',
    { force: true },
    {},
    400,
    'validation_failed',
  ],
  [
    'a deny without comment',
    'POST',
    '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D/deny',
    {},
    {},
    400,
    'validation_failed',
  ],
  [
    'a revoke without reason',
    'POST',
    '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D/revoke',
    {},
    {},
    400,
    'validation_failed',
  ],
  [
    'an extension of zero minutes',
    'POST',
    '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D/extend',
    { durationMinutes: 0, reason: 'x' },
    {},
    400,
    'validation_failed',
  ],
  [
    'an unknown review outcome',
    'POST',
    '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D/review',
    { outcome: 'meh', comment: 'x' },
    {},
    400,
    'validation_failed',
  ],
  ['a limit of zero', 'GET', '/v1/requests?limit=0', undefined, {}, 400, 'validation_failed'],
  ['a limit that is not a number', 'GET', '/v1/requests?limit=lots', undefined, {}, 400, 'validation_failed'],
  ['a limit too large', 'GET', '/v1/requests?limit=100000', undefined, {}, 400, 'validation_failed'],
  ['an unknown status', 'GET', '/v1/requests?status=approvedish', undefined, {}, 400, 'validation_failed'],
  ['a non-boolean mine', 'GET', '/v1/requests?mine=maybe', undefined, {}, 400, 'validation_failed'],
  ['a garbage cursor', 'GET', '/v1/requests?cursor=%00%01', undefined, {}, 400, 'invalid_cursor'],
  [
    'an over-long cursor',
    'GET',
    `/v1/requests?cursor=${'a'.repeat(3000)}`,
    undefined,
    {},
    400,
    'validation_failed',
  ],
  // The one text rule (docs/threat-model.md): ill-formed Unicode, controls, bidi and zero-width are refused.
  [
    'a ticket with a lone surrogate on an emergency role',
    'POST',
    '/v1/requests',
    { ...VALID, roleId: 'prod-admin', ticket: 'INC-78\ud800', emergency: true },
    {},
    400,
    'invalid_text',
  ],
  [
    'a reason with a right-to-left override',
    'POST',
    '/v1/requests',
    { ...VALID, reason: 'update \u202etxt.exe\u202c now' },
    {},
    400,
    'invalid_text',
  ],
  [
    'a reason with a NUL',
    'POST',
    '/v1/requests',
    { ...VALID, reason: 'why\u0000not' },
    {},
    400,
    'invalid_text',
  ],
  [
    'a zero-width space in an approval comment',
    'POST',
    '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D/approve',
    { comment: 'appr\u200boved' },
    {},
    400,
    'invalid_text',
  ],
  [
    'a deny comment with an escape sequence',
    'POST',
    '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D/deny',
    { comment: '\u001b[2Jno' },
    {},
    400,
    'invalid_text',
  ],
  [
    'a revoke reason with a lone surrogate',
    'POST',
    '/v1/requests/req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D/revoke',
    { reason: 'x\udfff' },
    {},
    400,
    'invalid_text',
  ],
  [
    'a forged cursor naming another index',
    'GET',
    `/v1/requests?cursor=${Buffer.from(JSON.stringify({ i: 'byCreated', k: { pk: 'x', gsi2pk: 'y' } })).toString('base64url')}`,
    undefined,
    {},
    400,
    'invalid_cursor',
  ],
  [
    'a forged cursor with wrong key names',
    'GET',
    `/v1/requests?cursor=${Buffer.from(JSON.stringify({ i: 'byCreated', k: { nope: 'x' } })).toString('base64url')}`,
    undefined,
    {},
    400,
    'invalid_cursor',
  ],
  [
    'a forged cursor that is an array',
    'GET',
    `/v1/requests?cursor=${Buffer.from(JSON.stringify({ i: 'byCreated', k: ['a'] })).toString('base64url')}`,
    undefined,
    {},
    400,
    'invalid_cursor',
  ],
  ['an unknown route', 'GET', '/v1/nothing-here', undefined, {}, 404, 'not_found'],
];

describe('bad input is a 4xx problem, never a 5xx', () => {
  let stack: TestStack;
  let alice: Api;
  let token: string;

  beforeAll(async () => {
    stack = await startTestStack({ config: testConfig(), demoUsers: TEST_USERS });
    token = await tokenFor(stack, 'alice');
    alice = apiClient(stack, token);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function send(method: string, path: string, body: unknown, headers: Record<string, string>) {
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return { response, text: await response.text() };
  }

  function expectProblem(response: Response, text: string, status: number, code: string) {
    expect([response.status, text]).toEqual([status, expect.any(String)]);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = JSON.parse(text) as Problem;
    expect(problem).toMatchObject({ status, code, type: `urn:breakglass:problem:${code}` });
    expect(problem.requestId).toMatch(/^r_|^[\w.-]+$/);
    expect(problem.requestId).toBe(response.headers.get('x-request-id'));
    expect(typeof problem.detail).toBe('string');
    expect(text).not.toMatch(/\bat .*\(|node_modules|\.ts:\d+|Error:/);
  }

  it.each(cases)('%s (%s %s)', async (_name, method, path, body, headers, status, code) => {
    const { response, text } = await send(method, path, body, headers);
    expect(response.status, text).toBe(status);
    expectProblem(response, text, status, code);
  });

  it('Idempotency-Key is documented in /openapi.json with the pattern the API enforces', async () => {
    const document = (await (await fetch(`${stack.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<string, { parameters?: { in: string; name: string; schema?: unknown }[] }>
      >;
    };
    const parameters = document.paths['/v1/requests']?.post?.parameters ?? [];
    expect(parameters.filter((parameter) => parameter.in === 'header')).toEqual([
      expect.objectContaining({
        name: 'Idempotency-Key',
        required: false,
        schema: { type: 'string', pattern: '^[\\w-]{8,128}$' },
      }),
    ]);
    const { response, text } = await send('POST', '/v1/requests', VALID, { 'idempotency-key': 'short' });
    expectProblem(response, text, 400, 'validation_failed');
    expect(JSON.parse(text).errors).toEqual([
      { path: 'idempotency-key', message: expect.stringMatching(/8-128/) },
    ]);
  });

  it('Idempotency-Key: a replay returns the first request; a different body under the same key is refused', async () => {
    const key = 'idem-key-0001';
    const first = await alice<{ id: string }>('POST', '/v1/requests', VALID, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const replay = await alice<{ id: string }>('POST', '/v1/requests', VALID, { 'idempotency-key': key });
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(first.body.id);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const { response, text } = await send(
      'POST',
      '/v1/requests',
      { ...VALID, durationMinutes: 31 },
      {
        'idempotency-key': key,
      },
    );
    expectProblem(response, text, 409, 'idempotency_conflict');

    // Keys belong to the caller: another requester using the same key gets a request of their own.
    const sam = apiClient(stack, await tokenFor(stack, 'sam'));
    const other = await sam<{ id: string }>('POST', '/v1/requests', VALID, { 'idempotency-key': key });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
  });

  it('a real cursor pages on; the same cursor edited by one character is refused as invalid_cursor', async () => {
    for (let i = 0; i < 3; i++) expect((await alice('POST', '/v1/requests', VALID)).status).toBe(201);
    const first = await alice<{ nextCursor: string }>('GET', '/v1/requests?mine=true&limit=1');
    const cursor = first.body.nextCursor;
    expect(cursor).toMatch(/^[\w-]+\.[\w-]+$/);
    expect((await alice('GET', `/v1/requests?mine=true&limit=1&cursor=${cursor}`)).status).toBe(200);
    const [body = '', mac = ''] = cursor.split('.');
    const decoded = JSON.parse(Buffer.from(body, 'base64url').toString()) as { s: string };
    decoded.s = '9999-12-31T00:00:00.000Z#req_someone-else';
    const forged = `${Buffer.from(JSON.stringify(decoded)).toString('base64url')}.${mac}`;
    const { response, text } = await send('GET', `/v1/requests?mine=true&cursor=${forged}`, undefined, {});
    expectProblem(response, text, 400, 'invalid_cursor');
    const flipped = `${cursor.slice(0, -1)}${cursor.endsWith('A') ? 'B' : 'A'}`;
    const again = await send('GET', `/v1/requests?mine=true&cursor=${flipped}`, undefined, {});
    expectProblem(again.response, again.text, 400, 'invalid_cursor');
  });

  it('an offered x-request-id is echoed when well-formed and replaced when not', async () => {
    const good = await send('GET', '/v1/requests/123', undefined, { 'x-request-id': 'client-abc.1' });
    expect((JSON.parse(good.text) as Problem).requestId).toBe('client-abc.1');
    const bad = await send('GET', '/v1/requests/123', undefined, { 'x-request-id': '<script>' });
    expect((JSON.parse(bad.text) as Problem).requestId).toMatch(/^r_[0-9A-Z]{26}$/);
  });

  it('the server is still healthy after all of it', async () => {
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
    expect((await alice('GET', '/v1/me')).status).toBe(200);
  });
});
