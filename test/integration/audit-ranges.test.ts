/**
 * Date-ranged reviews against the local stack (DynamoDB Local, the development OIDC provider, the file bunker):
 * requests that began before the range still come out whole in CSV, OCSF and the report; the report lists every
 * grant active at any moment of the range, including one with no event inside it; every OCSF record of a full
 * flow satisfies OCSF 1.3.0; and an auditor's exports, reports and verifies leave aggregated `audit.read` events.
 * Time moves through an injected clock (tokens stay valid: it moves 20 minutes in all).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../api/domain/types.js';
import { MutableClock } from '../support/clock.js';
import { ocsfProblems } from '../support/ocsf-1.3.js';
import { apiClient, exampleConfig, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

/** RFC 4180 rows (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        cell += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[index + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      index += 1;
    } else cell += char;
  }
  const [header, ...body] = rows;
  return body.map((cells) => Object.fromEntries(header!.map((name, index) => [name, cells[index] ?? ''])));
}

describe('date-ranged exports and the report describe every request whole', () => {
  const clock = new MutableClock();
  let stack: TestStack;
  let carol: ReturnType<typeof apiClient>;
  const ids: Record<'a' | 'b' | 'c' | 'd' | 'e', string> = { a: '', b: '', c: '', d: '', e: '' };
  const keys: string[] = [];
  let since = '';
  let until = '';
  let aliceSubject = '';

  beforeAll(async () => {
    const config = exampleConfig();
    // Frequent digests, so a signed digest covers the range and the report can go green.
    stack = await startTestStack({
      clock,
      config: { ...config, bunker: { kind: 'file', digest: { everyEvents: 5, everyMinutes: 15 } } },
    });
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const bob = apiClient(stack, await tokenFor(stack, 'bob'));
    const dave = apiClient(stack, await tokenFor(stack, 'dave'));
    const erin = apiClient(stack, await tokenFor(stack, 'erin'));
    carol = apiClient(stack, await tokenFor(stack, 'carol'));
    aliceSubject = ((await alice<{ subject: string }>('GET', '/v1/me')).body as { subject: string }).subject;
    const create = async (body: Record<string, unknown>) => {
      const created = await alice<{ id: string }>('POST', '/v1/requests', body);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return created.body.id;
    };
    const ok = async (call: Promise<{ status: number; body: unknown }>) => {
      const result = await call;
      expect(result.status, JSON.stringify(result.body)).toBe(200);
      return result.body as Record<string, unknown>;
    };

    // Before the range: A becomes active and issues a key; B waits; C (prod-admin, two approvers) becomes active
    // and then does nothing at all during the range.
    ids.a = await create({
      roleId: 'prod-readonly',
      durationMinutes: 120,
      reason: 'hotfix A',
      ticket: 'INC-1',
    });
    await ok(bob('POST', `/v1/requests/${ids.a}/approve`, { comment: 'ok for A' }));
    keys.push(String((await ok(alice('POST', `/v1/requests/${ids.a}/credentials`))).AccessKeyId));
    ids.b = await create({ roleId: 'prod-readonly', durationMinutes: 30, reason: 'look at B' });
    ids.c = await create({
      roleId: 'prod-admin',
      durationMinutes: 240,
      reason: 'migration C',
      ticket: 'INC-3',
    });
    await ok(bob('POST', `/v1/requests/${ids.c}/approve`, { comment: 'c first' }));
    await ok(dave('POST', `/v1/requests/${ids.c}/approve`, { comment: 'c second' }));

    clock.advanceMinutes(10);
    since = clock.now().toISOString();
    // Inside the range.
    keys.push(String((await ok(alice('POST', `/v1/requests/${ids.a}/credentials`))).AccessKeyId));
    await ok(alice('POST', `/v1/requests/${ids.a}/extend`, { durationMinutes: 30, reason: 'need more A' }));
    await ok(dave('POST', `/v1/requests/${ids.a}/approve`, { comment: 'ext ok' }));
    await ok(bob('POST', `/v1/requests/${ids.a}/revoke`, { reason: 'done A' }));
    await ok(dave('POST', `/v1/requests/${ids.b}/deny`, { comment: 'not now B' }));
    ids.d = await create({ roleId: 'prod-readonly', durationMinutes: 30, reason: 'D new' });
    expect((await erin('POST', `/v1/requests/${ids.d}/approve`, {})).status).toBe(403);
    ids.e = await create({
      roleId: 'prod-admin',
      durationMinutes: 60,
      reason: 'E emergency',
      ticket: 'INC-5',
      emergency: true,
    });
    await ok(bob('POST', `/v1/requests/${ids.e}/review`, { outcome: 'acknowledged', comment: 'fine E' }));
    clock.advanceMinutes(10);
    until = clock.now().toISOString();
    // After the range, something for the digest to cover beyond it.
    await create({ roleId: 'prod-readonly', durationMinutes: 30, reason: 'after the range' });
    await stack.sealing.idle(10_000);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const range = () => `since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`;

  it('CSV: every row of the range is complete, from the request’s own history when it began earlier', async () => {
    const csv = await carol<string>('GET', `/v1/audit/events?format=csv&${range()}`);
    expect(csv.status).toBe(200);
    const rows = parseCsv(String(csv.body));
    const byId = new Map(rows.map((row) => [row.request_id, row]));
    expect([...byId.keys()].sort()).toEqual([ids.a, ids.b, ids.d, ids.e].sort());
    for (const row of rows) {
      expect(row.requester, row.request_id).toBe('alice@example.com');
      expect(row.reason, row.request_id).not.toBe('');
      expect(row.requested_at, row.request_id).not.toBe('');
    }
    const a = byId.get(ids.a)!;
    expect(a).toMatchObject({
      reason: 'hotfix A',
      ticket: 'INC-1',
      status: 'revoked',
      approvers: 'bob@example.com: ok for A',
      credential_issues: '2',
      access_key_ids: keys.join('; '),
      end_reason: 'revoked by bob@example.com: done A',
    });
    expect(a.extensions).toContain(
      '+30m by alice@example.com: need more A; approved by dave@example.com: ext ok',
    );
    expect(a.planned_end_at).not.toBe('');
    expect(String(a.requested_at) < since).toBe(true);
    expect(byId.get(ids.b)).toMatchObject({
      reason: 'look at B',
      status: 'denied',
      denied_by: 'dave@example.com',
      deny_comment: 'not now B',
    });
    expect(byId.get(ids.e)).toMatchObject({ emergency: 'yes', post_review: 'acknowledged' });
    expect(byId.get(ids.e)!.post_review_by).toBe('bob@example.com: fine E');
    console.log(`ranged CSV: ${rows.length} rows, each with requester, reason and approvals`);
  });

  it('OCSF: every record of the full flow and of the range is valid OCSF 1.3.0, and names the real user', async () => {
    for (const query of ['format=ocsf', `format=ocsf&${range()}`]) {
      const ocsf = await carol<string>('GET', `/v1/audit/events?${query}`);
      expect(ocsf.status).toBe(200);
      const records = String(ocsf.body)
        .trim()
        .split('\n')
        .map(
          (line) => JSON.parse(line) as Record<string, unknown> & { unmapped: { breakglass: AuditEvent } },
        );
      const problems = records.flatMap((record) =>
        ocsfProblems(record).map((problem) => `${record.unmapped.breakglass.type}: ${problem}`),
      );
      expect(problems).toEqual([]);
      const classes = new Set(records.map((record) => record.class_uid));
      expect([...classes].sort()).toEqual([3005, 6003]);
      const privileges = records.filter((record) => record.class_uid === 3005);
      expect(privileges.length).toBeGreaterThan(0);
      for (const record of privileges) {
        expect((record.user as { uid: string }).uid, record.unmapped.breakglass.type).toBe(aliceSubject);
      }
      console.log(`${query}: ${records.length} OCSF records checked, classes ${[...classes].join(', ')}`);
    }
  });

  it('report: every grant active in the range (one without events in it too), denials, extensions, reviews', async () => {
    const report = await carol<string>('GET', `/v1/audit/report?${range()}`);
    expect(report.status).toBe(200);
    const html = String(report.body);
    const section = (id: string) => html.slice(html.indexOf(`<section id="${id}">`)).split('</section>')[0]!;
    const review = section('access-review');
    // A (active at the start, revoked inside) and C (active through the whole range, no event inside it) and
    // E (emergency inside); not B (denied) or D (pending).
    for (const id of [ids.a, ids.c, ids.e]) expect(review).toContain(id);
    for (const id of [ids.b, ids.d]) expect(review).not.toContain(id);
    expect(review).toContain('migration C');
    expect(review).toContain('c first');
    expect(review).toContain('c second');
    for (const key of keys) expect(review).toContain(key);
    expect(review).toContain('ext ok');
    expect(section('denials')).toContain('not now B');
    expect(section('extensions')).toContain('need more A');
    expect(html).toContain('fine E');
    const banner = /<p class="status ([^"]+)" id="verification" data-status="([a-z]+)">(.*?)<\/p>/.exec(html);
    expect(banner?.[2]).toBe('verified');
    expect(banner?.[1]).toBe('good');
    const text = banner![3]!.replace(/<[^>]+>/g, '');
    expect(text).toMatch(/the end of a signed digest/);
    expect(text).toMatch(/signing key \(kid [A-Za-z0-9_-]+\)/);
    expect(text).toMatch(/not covered by this check/);
    console.log(`report banner: ${text}`);
  });

  it('a report of a range no signed digest covers yet is not green, and says why', async () => {
    const head = (await carol<{ lastSeq: number }>('GET', '/v1/audit/verify')).body.lastSeq;
    // The newest events are past the last digest (5 per digest; the reads above added audit.read events).
    const fresh = new Date(clock.now().getTime() - 1000).toISOString();
    const report = await carol<string>('GET', `/v1/audit/report?since=${encodeURIComponent(fresh)}`);
    const html = String(report.body);
    const status = /data-status="([a-z]+)"/.exec(html)?.[1];
    expect(head).toBeGreaterThan(0);
    expect(status).not.toBe('verified');
    expect(html).not.toContain('class="status good"');
  });

  it('exports, reports and verifies by a person leave aggregated audit.read events', async () => {
    await stack.broker.audit.flushReads();
    await stack.sealing.idle(10_000);
    const reads: AuditEvent[] = [];
    for await (const event of stack.broker.store.readEvents())
      if (event.type === 'audit.read') reads.push(event);
    const data = (event: AuditEvent) => event.data as Record<string, unknown>;
    for (const event of reads) {
      expect(event.actor).toMatchObject({ type: 'user', email: 'carol@example.com' });
    }
    // Exports: csv (ranged), ocsf twice; whatever the window split, first reads plus repeats add up.
    const exports = reads.filter((event) => data(event).kind === 'export');
    const total = exports.reduce(
      (sum, event) => sum + (data(event).summary ? Number(data(event).repeats) : 1),
      0,
    );
    expect(total).toBe(3);
    expect(exports.length).toBeLessThan(3 + 1);
    const first = exports.find((event) => !data(event).summary)!;
    expect(data(first)).toMatchObject({ format: 'csv', since, until, result: 'streamed', count: 1 });
    expect(exports.some((event) => data(event).summary === true)).toBe(true);
    const reports = reads.filter((event) => data(event).kind === 'report' && !data(event).summary);
    expect(data(reports[0]!)).toMatchObject({ format: 'html', since, until, result: 'verified' });
    expect(reads.some((event) => data(event).kind === 'verify' && data(event).result === 'ok')).toBe(true);
    console.log(`audit.read events: ${reads.length} for ${total} exports, 2 reports and 1 verify`);
  });
});
