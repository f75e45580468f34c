/**
 * Attacks on the audit trail by an insider who knows the algorithm (SHA-256 over RFC 8785, the export and bunker
 * layouts, the digest format) and holds no trusted key: each one tampers, recomputes what can be recomputed,
 * and runs the real verifier — the CLI against a pinned key, or the broker's live verify. Each test prints the
 * verifier's one-line reason. Letters follow the audit-trust issue: (a)–(h).
 */

import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKeySigner } from '../../api/adapters/bunker/local-signer.js';
import { canonicalJson, GENESIS_HASH, hashEvent } from '../../api/domain/audit-chain.js';
import type { AuditEvent } from '../../api/domain/types.js';
import { DIGEST_JWS_TYP, MANIFEST_JWS_TYP, signCompact } from '../../api/services/digests.js';
import { cliEnv, ensureBuilt, runCli, tempHome } from '../e2e/cli-helpers.js';
import { ChainTable, eventsOf } from '../support/chain-table.js';
import { type Api, testConfig } from '../support/fixtures.js';
import { apiClient, settledAndSealed, startTestStack, type TestStack, tokenFor } from '../support/stack.js';

interface Verify {
  ok: boolean;
  firstBadSeq?: number;
  reason?: string;
  detail?: string;
  lastSeq?: number;
}

/** The verifier's one line, as the CLI printed it (stderr on failure, stdout on success). */
const oneLine = (result: { stdout: string; stderr: string }) =>
  (result.stderr.trim() || result.stdout.trim()).split('\n').at(-1) ?? '';

describe('attacks on the audit trail by an insider without a trusted key', () => {
  let stack: TestStack;
  let carol: Api;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let exported: string[];
  const cli = (...args: string[]) => runCli(args, env);
  const forger = () => new LocalKeySigner(join(dir, `forger-${Math.random()}.json`));

  beforeAll(async () => {
    await ensureBuilt();
    const config = testConfig();
    stack = await startTestStack({
      config: { ...config, bunker: { kind: 'file', digest: { everyEvents: 4, everyMinutes: 15 } } },
    });
    carol = apiClient(stack, await tokenFor(stack, 'carol'));
    const alice = apiClient(stack, await tokenFor(stack, 'alice'));
    const bob = apiClient(stack, await tokenFor(stack, 'bob'));
    for (let index = 0; index < 4; index++) {
      const created = await alice<{ id: string }>('POST', '/v1/requests', {
        roleId: 'prod-readonly',
        durationMinutes: 30,
        reason: `incident ${index}`,
      });
      await bob('POST', `/v1/requests/${created.body.id}/approve`, {});
    }
    await settledAndSealed(stack);
    await stack.sealing.idle();
    dir = tempHome('bg-trust-');
    env = cliEnv(dir, { BREAKGLASS_URL: stack.url });
    // First login pins the server's audit key (trust on first use).
    const login = await cli('login', '--dev-user', 'carol');
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toMatch(/Pinned the audit signing keys of http:\/\/127\.0\.0\.1:\d+ \(kid /);
    const out = join(dir, 'audit.jsonl');
    expect((await cli('audit', 'export', '--out', out)).code).toBe(0);
    exported = readFileSync(out, 'utf8').trimEnd().split('\n');
    const verified = await cli('audit', 'verify', out);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/verified — \d+ events, seq 1…\d+; signed seq 1…\d+ against pinned keys/);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const events = () => exported.filter((line) => !line.startsWith('{"type":"export.'));
  const write = (name: string, lines: string[]) => {
    const file = join(dir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };

  /** Edits the event at seq 3, re-chains everything after it, and writes a fresh end line (unsigned). */
  async function rewrittenExport(sign: LocalKeySigner | null): Promise<string[]> {
    let prevHash = GENESIS_HASH;
    const body: string[] = [exported[0]!];
    for (const line of events()) {
      const event = JSON.parse(line) as AuditEvent;
      const changed = {
        ...event,
        prevHash,
        ...(event.seq === 3 ? { data: { reason: 'nothing to see' } } : {}),
      };
      const { hash: _old, ...rest } = changed;
      const sealed = { ...rest, hash: hashEvent(rest) };
      body.push(canonicalJson(sealed));
      prevHash = sealed.hash;
    }
    return withEnd(body, sign);
  }

  /**
   * Appends an end line as the broker writes it, signed with `sign` if given: SHA-256 of the boundary and digest
   * lines in format /2, of every line before it in /1.
   */
  async function withEnd(body: string[], sign: LocalKeySigner | null): Promise<string[]> {
    const boundary = JSON.parse(body[0]!) as { prevSeq: number; prevHash: string; format: string };
    const hashed =
      boundary.format === 'breakglass-audit-jsonl/2'
        ? body.filter((line) => line.startsWith('{"type":"export.'))
        : body;
    const sha256 = createHash('sha256')
      .update(hashed.map((line) => `${line}\n`).join(''))
      .digest('hex');
    const first = JSON.parse(body[1]!) as AuditEvent;
    const last = JSON.parse(body.at(-1)!) as AuditEvent;
    const manifest = {
      type: 'breakglass.export-manifest',
      format: boundary.format,
      sha256,
      count: body.length - 1,
      prevSeq: boundary.prevSeq,
      prevHash: boundary.prevHash,
      firstSeq: first.seq,
      lastSeq: last.seq,
      lastHash: last.hash,
      since: null,
      until: null,
      exportedAt: new Date().toISOString(),
      digests: 0,
    };
    const signature = sign ? await signCompact(sign, manifest, MANIFEST_JWS_TYP) : undefined;
    return [
      ...body,
      JSON.stringify({ ...manifest, type: 'export.end', ...(signature ? { signature } : {}) }),
    ];
  }

  it('(a) an edited export with a recomputed chain and no signature fails', async () => {
    const result = await cli('audit', 'verify', write('a.jsonl', await rewrittenExport(null)));
    console.log(`(a) ${oneLine(result)}`);
    expect(result.code).toBe(1);
    expect(oneLine(result)).toMatch(/failed at seq 1 \(unsigned\): the export carries no manifest signature/);
    // Only --allow-unsigned lets it through, and then loudly.
    const allowed = await cli('audit', 'verify', join(dir, 'a.jsonl'), '--allow-unsigned');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/UNSIGNED \(the export carries no manifest signature\)/);
  });

  it('(b) the same export signed with an own key fails: only pinned keys count', async () => {
    const result = await cli('audit', 'verify', write('b.jsonl', await rewrittenExport(forger())));
    console.log(`(b) ${oneLine(result)}`);
    expect(result.code).toBe(1);
    expect(oneLine(result)).toMatch(
      /\(untrusted_key\): manifest: signed by kid \S+, which is not a trusted key/,
    );
  });

  it('(c) a fabricated range starting at seq 500 fails, signed or not', async () => {
    const boundary = {
      type: 'export.boundary',
      format: 'breakglass-audit-jsonl/1',
      prevSeq: 499,
      prevHash: 'f'.repeat(64),
    };
    let prevHash = boundary.prevHash;
    const lines = [JSON.stringify(boundary)];
    for (let seq = 500; seq < 503; seq++) {
      const event = {
        seq,
        id: `evt_fake${seq}`,
        time: new Date().toISOString(),
        type: 'grant.revoked',
        actor: { type: 'user', subject: 'nobody', email: 'nobody@example.com', via: 'api' },
        data: {},
        simulated: true,
        prevHash,
      };
      const hash = hashEvent(event as never);
      lines.push(canonicalJson({ ...event, hash }));
      prevHash = hash;
    }
    const unsigned = await cli('audit', 'verify', write('c.jsonl', await withEnd(lines, null)));
    console.log(`(c) unsigned: ${oneLine(unsigned)}`);
    expect(unsigned.code).toBe(1);
    expect(oneLine(unsigned)).toMatch(/failed at seq 500 \(unsigned\)/);
    const signed = await cli('audit', 'verify', write('c-signed.jsonl', await withEnd(lines, forger())));
    console.log(`(c) own key: ${oneLine(signed)}`);
    expect(signed.code).toBe(1);
    expect(oneLine(signed)).toMatch(/failed at seq 500 \(untrusted_key\)/);
  });

  it('(f) a bunker copy re-signed with an own key placed in keys/ fails', async () => {
    const copy = join(dir, 'bunker-f');
    cpSync(join(stack.dataDir, 'bunker'), copy, { recursive: true });
    const signer = forger();
    for (const file of readdirSync(join(copy, 'digests'))) {
      const path = join(copy, 'digests', file);
      const payload = JSON.parse(
        Buffer.from(readFileSync(path, 'utf8').split('.')[1]!, 'base64url').toString(),
      );
      rmSync(path);
      writeFileSync(path, `${await signCompact(signer, payload, DIGEST_JWS_TYP)}\n`);
    }
    for (const key of await signer.publicKeys())
      writeFileSync(join(copy, 'keys', `${key.kid}.json`), JSON.stringify(key));
    const result = await cli('audit', 'verify', copy);
    console.log(`(f) ${oneLine(result)}`);
    expect(result.code).toBe(1);
    expect(oneLine(result)).toMatch(/\(untrusted_key\)/);
  });

  it('(e) a bunker copy re-hashed after an edit with every digest deleted fails', async () => {
    const copy = join(dir, 'bunker-e');
    cpSync(join(stack.dataDir, 'bunker'), copy, { recursive: true });
    rmSync(join(copy, 'digests'), { recursive: true });
    const files = (readdirSync(join(copy, 'events'), { recursive: true }) as string[])
      .filter((file) => file.endsWith('.json'))
      .sort((a, b) => a.split('/').at(-1)!.localeCompare(b.split('/').at(-1)!));
    let prevHash = GENESIS_HASH;
    for (const file of files) {
      const path = join(copy, 'events', file);
      const event = JSON.parse(readFileSync(path, 'utf8')) as AuditEvent;
      const { hash: _old, ...rest } = { ...event, prevHash, ...(event.seq === 2 ? { data: {} } : {}) };
      const hash = hashEvent(rest);
      rmSync(path);
      writeFileSync(path, canonicalJson({ ...rest, hash }));
      prevHash = hash;
    }
    const result = await cli('audit', 'verify', copy);
    console.log(`(e) ${oneLine(result)}`);
    expect(result.code).toBe(1);
    expect(oneLine(result)).toMatch(/\((unsigned|digest_missing)\)/);
  });

  it('(g) newest events and their digests deleted: offline fails once the heartbeat is overdue, live at once', async () => {
    const bunker = join(stack.dataDir, 'bunker');
    expect((await carol<Verify>('GET', '/v1/audit/verify')).body.ok).toBe(true);
    await settledAndSealed(stack);
    await stack.sealing.idle();
    const copy = join(dir, 'bunker-g');
    cpSync(bunker, copy, { recursive: true });
    const newest = (readdirSync(join(copy, 'events'), { recursive: true }) as string[])
      .filter((file) => file.endsWith('.json'))
      .sort((a, b) => a.split('/').at(-1)!.localeCompare(b.split('/').at(-1)!))
      .slice(-3)
      .map((file) => join('events', file));
    const cut = Number(/(\d{12})-/.exec(newest[0]!)?.[1]);
    const trimmed = [
      ...newest,
      ...readdirSync(join(copy, 'digests'))
        .filter((file) => Number(file.slice(0, 12)) >= cut)
        .map((file) => join('digests', file)),
    ];
    for (const file of trimmed) rmSync(join(copy, file));
    const now = await cli('audit', 'verify', copy);
    expect(now.code, now.stderr).toBe(0);
    const at = new Date(Date.now() + 21 * 60_000).toISOString();
    const later = await cli('audit', 'verify', copy, '--at', at);
    console.log(`(g) offline: ${oneLine(later)}`);
    expect(later.code).toBe(1);
    expect(oneLine(later)).toMatch(/\(stale\): the newest digest .* a heartbeat is due every 15 min/);
    const stale = await cli('audit', 'verify', copy, '--at', at, '--allow-stale');
    expect(stale.code).toBe(0);
    expect(stale.stdout).toMatch(/^STALE: /m);

    // The same deletion in the live bunker: /readyz and the broker's live verify see it at once.
    const originals = trimmed.map((file) => ({ file, text: readFileSync(join(bunker, file), 'utf8') }));
    for (const { file } of originals) rmSync(join(bunker, file));
    try {
      const ready = await apiClient(stack)<{ checks: { bunker: { ok: boolean; detail?: string } } }>(
        'GET',
        '/readyz',
      );
      expect(ready.body.checks.bunker).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/^bunker mismatch: /),
      });
      const live = await cli('audit', 'verify', '--live');
      console.log(`(g) live: ${oneLine(live)}`);
      expect(live.code).toBe(1);
      expect(oneLine(live)).toMatch(/\((bunker_missing|digest_missing|digest_gap)\)/);
    } finally {
      for (const { file, text } of originals) writeFileSync(join(bunker, file), text);
    }
    expect((await carol<Verify>('GET', '/v1/audit/verify')).body.ok).toBe(true);
  });

  it('(d) every event rewritten in DynamoDB with a recomputed chain: export refuses to sign, live verify fails', async () => {
    const { dynamodb } = stack.broker;
    const table = stack.tableName;
    // The chain is stored in blocks of events: rewrite every event of every block.
    const chain = new ChainTable(dynamodb, table);
    const blocks = await chain.blocks();
    expect(blocks.reduce((count, block) => count + eventsOf(block).length, 0)).toBeGreaterThan(8);
    const headKey = { pk: { S: 'META' }, sk: { S: 'AUDIT_HEAD' } };
    const headItem = (
      await dynamodb.send(new GetItemCommand({ TableName: table, Key: headKey, ConsistentRead: true }))
    ).Item;
    let prevHash = GENESIS_HASH;
    let last = { seq: 0, hash: GENESIS_HASH };
    try {
      for (const block of blocks) {
        const lines: string[] = [];
        for (const event of eventsOf(block)) {
          const { hash: _old, ...rest } = { ...event, prevHash, ...(event.seq === 2 ? { data: {} } : {}) };
          const hash = hashEvent(rest);
          lines.push(canonicalJson({ ...rest, hash }));
          prevHash = hash;
          last = { seq: event.seq, hash };
        }
        await chain.put({ ...block, events: { S: lines.join('\n') } }, block);
      }
      if (headItem) {
        await dynamodb.send(
          new PutItemCommand({
            TableName: table,
            Item: { ...headItem, hash: { S: last.hash } },
          }),
        );
      }
      const out = join(dir, 'd.jsonl');
      expect((await cli('audit', 'export', '--out', out)).code).toBe(0);
      const end = JSON.parse(readFileSync(out, 'utf8').trimEnd().split('\n').at(-1)!) as {
        signature?: string;
        refused?: string;
      };
      expect(end.signature).toBeUndefined();
      expect(end.refused).toMatch(/differ from what digests\/\d{12}-\d{12}\.jws signed/);
      const offline = await cli('audit', 'verify', out);
      console.log(`(d) export: ${oneLine(offline)}`);
      expect(oneLine(offline)).toMatch(/\(unsigned\): the broker refused to sign this export: seq 1: /);
      const live = await cli('audit', 'verify', '--live');
      console.log(`(d) live: ${oneLine(live)}`);
      expect(live.code).toBe(1);
      expect(oneLine(live)).toMatch(/\((digest_mismatch|bunker_mismatch|hash_mismatch)\)/);
      await settledAndSealed(stack);
      await stack.sealing.idle();
      const trail = await carol<string>('GET', '/v1/audit/events?format=jsonl&signed=false');
      expect(String(trail.body)).toContain('"type":"audit.sign_refused"');
    } finally {
      await chain.restore();
      if (headItem) await dynamodb.send(new PutItemCommand({ TableName: table, Item: headItem }));
    }
  });

  describe('(h) a server whose audit key changes', () => {
    let server: Server;
    let served: unknown;
    let url: string;
    beforeAll(async () => {
      served = await (await fetch(`${stack.url}/.well-known/breakglass-audit-keys.json`)).json();
      server = createServer((request, response) => {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify(request.url === '/.well-known/breakglass-audit-keys.json' ? served : {}));
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise<void>((done) => server.close(() => done())));

    it('is refused until the user accepts the new key explicitly', async () => {
      const file = join(dir, 'audit.jsonl');
      const first = await cli('audit', 'verify', file, '--server', url);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toMatch(/pinned the audit keys of .* on first use/);

      const rogue = forger();
      served = { keys: await rogue.publicKeys() };
      const refused = await cli('audit', 'verify', file, '--server', url);
      console.log(`(h) ${oneLine(refused)}`);
      expect(refused.code).toBe(6);
      expect(oneLine(refused)).toMatch(
        new RegExp(
          `the audit keys of ${url.replace(/\./g, '\\.')} changed: kid ${await rogue.keyId()} is not pinned`,
        ),
      );
      const shown = await cli('audit', 'keys', '--server', url);
      expect(shown.code).toBe(6);
      expect(shown.stdout).toMatch(/^pinned: kid /m);

      const accepted = await cli('audit', 'keys', '--accept', '--server', url);
      expect(accepted.code, accepted.stderr).toBe(0);
      expect(accepted.stdout).toContain(await rogue.keyId());
      // Accepting adds the served key and keeps the pinned one (a rotation must not orphan old digests).
      const after = await cli('audit', 'verify', file, '--server', url);
      expect(after.code, after.stderr).toBe(0);
      const keys = await cli('audit', 'keys', '--server', url, '--json');
      expect(JSON.parse(keys.stdout).pinned.map((key: { kid: string }) => key.kid)).toContain(
        await rogue.keyId(),
      );
      expect(JSON.parse(keys.stdout).pinned).toHaveLength(2);
    });
  });
});
