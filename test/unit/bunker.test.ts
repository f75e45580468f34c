import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryCursorStore } from '../../api/adapters/bunker/dynamo-cursor.js';
import { FileSink } from '../../api/adapters/bunker/file-sink.js';
import { derToJoseSignature, KmsSigner } from '../../api/adapters/bunker/kms-signer.js';
import { LocalKeySigner } from '../../api/adapters/bunker/local-signer.js';
import { S3Sink } from '../../api/adapters/bunker/s3-sink.js';
import { canonicalJson, hashEvent } from '../../api/domain/audit-chain.js';
import { eventKey } from '../../api/domain/exports/bunker-layout.js';
import type { AuditEvent } from '../../api/domain/types.js';
import { BunkerConflict, type BunkerSink, type ShipperCursorStore } from '../../api/ports/bunker.js';
import { silentLogger } from '../../api/ports/logger.js';
import { verifyBunker } from '../../api/services/audit-verify.js';
import { verifyCompact } from '../../api/services/digest-checks.js';
import { auditJwks, DIGEST_JWS_TYP, signCompact } from '../../api/services/digests.js';
import { AuditShipper } from '../../api/services/shipper.js';
import { generateHistory } from '../../bench/fixtures/audit-history.js';
import { asStore, MemoryChainStore } from '../support/audit-fixtures.js';

// Every bunker file is fsynced; on a busy CI box a few hundred of them take seconds.
vi.setConfig({ testTimeout: 60_000 });

const fixedClock = { now: () => new Date('2026-03-01T00:00:00.000Z') };
/** Verification as of the shipper's clock, trusting only the signer's own key (never the bunker's keys/). */
const trustOf = async (signer: LocalKeySigner) => ({
  trusted: { source: 'file' as const, origin: 'test', keys: await auditJwks(signer) },
  at: fixedClock.now(),
});

function listFiles(root: string, sub: string): string[] {
  try {
    return (readdirSync(join(root, sub), { recursive: true }) as string[])
      .filter((entry) => /\.(json|jws)$/.test(entry))
      .sort();
  } catch {
    return [];
  }
}

describe('the audit shipper with the file sink', () => {
  let dir: string;
  let signer: LocalKeySigner;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bg-bunker-'));
    signer = new LocalKeySigner(join(dir, 'keys', 'audit-signing-key.json'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function shipperFor(
    store: MemoryChainStore,
    sink: BunkerSink,
    cursor: ShipperCursorStore,
    everyEvents = 50,
    everyMinutes = 15,
    clock: { now(): Date } = fixedClock,
  ) {
    return new AuditShipper({
      store: asStore(store),
      sink,
      cursor,
      signer,
      policy: { everyEvents, everyMinutes },
      clock,
      logger: silentLogger,
      checkpointEvery: 10,
    });
  }

  it('ships every event to its deterministic key, seals digests, and a replay writes nothing new', async () => {
    const store = new MemoryChainStore(generateHistory(230));
    const sink = new FileSink(join(dir, 'bunker'));
    const cursor = new MemoryCursorStore();
    const result = await shipperFor(store, sink, cursor).shipPending();
    expect(result).toEqual({ shipped: 230, lastSeq: 230 });
    const files = listFiles(join(dir, 'bunker'), 'events');
    expect(files).toHaveLength(230);
    expect(`events/${files[41]}`).toBe(eventKey(store.events[41]!));
    // Stored as the event's canonical JSON, byte for byte what the chain hashes (plus the hash member).
    expect(readFileSync(join(dir, 'bunker', eventKey(store.events[41]!)), 'utf8')).toBe(
      canonicalJson(store.events[41]),
    );
    expect(listFiles(join(dir, 'bunker'), 'digests')).toHaveLength(4);
    expect(statSync(join(dir, 'keys', 'audit-signing-key.json')).mode & 0o777).toBe(0o600);

    // A fresh cursor replays everything: every object already exists with the same bytes.
    const replay = await shipperFor(store, sink, new MemoryCursorStore()).shipPending();
    expect(replay.shipped).toBe(230);
    expect(listFiles(join(dir, 'bunker'), 'events')).toHaveLength(230);
    expect(listFiles(join(dir, 'bunker'), 'digests')).toHaveLength(4);

    const verified = await verifyBunker(sink, await trustOf(signer));
    expect(verified).toMatchObject({
      ok: true,
      events: 230,
      lastSeq: 230,
      digests: 4,
      unsealed: 30,
      keySource: 'file',
      signature: 'valid',
      signedRange: { fromSeq: 1, toSeq: 200 },
    });
  });

  it('resumes after a crash mid-batch with no gap and no duplicate', async () => {
    const store = new MemoryChainStore(generateHistory(120));
    const real = new FileSink(join(dir, 'bunker'));
    let puts = 0;
    const crashing: BunkerSink = {
      location: real.location,
      list: (prefix) => real.list(prefix),
      get: (key) => real.get(key),
      put: async (key, body, type) => {
        puts += 1;
        if (puts === 38) throw new Error('killed');
        return real.put(key, body, type);
      },
    };
    const cursor = new MemoryCursorStore();
    await expect(shipperFor(store, crashing, cursor).shipPending()).rejects.toThrow('killed');
    expect(cursor.cursor.shippedSeq).toBeLessThan(37);
    const resumed = await shipperFor(store, real, cursor).shipPending();
    expect(resumed.lastSeq).toBe(120);
    const files = listFiles(join(dir, 'bunker'), 'events');
    expect(files).toHaveLength(120);
    expect(files.map((file) => Number(/(\d{12})-/.exec(file)?.[1]))).toEqual(
      Array.from({ length: 120 }, (_, i) => i + 1),
    );
    expect(await verifyBunker(real, await trustOf(signer))).toMatchObject({ ok: true, events: 120 });
  });

  it('puts many objects with each settled on its own: written, an identical replay, a conflict left untouched', async () => {
    const sink = new FileSink(join(dir, 'bunker'));
    await sink.put('events/2026/03/01/000000000002-evt_b.json', 'two');
    await sink.put('events/2026/03/01/000000000003-evt_c.json', 'three');
    const results = await sink.putMany([
      { key: 'events/2026/03/01/000000000001-evt_a.json', body: 'one' },
      { key: 'events/2026/03/01/000000000002-evt_b.json', body: 'two' },
      { key: 'events/2026/03/01/000000000003-evt_c.json', body: 'forged' },
      { key: 'events/2026/03/02/000000000004-evt_d.json', body: 'four' },
    ]);
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value : 'rejected'))).toEqual([
      'written',
      'identical',
      'rejected',
      'written',
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(BunkerConflict);
    expect(await sink.get('events/2026/03/01/000000000003-evt_c.json')).toBe('three');
    expect(await sink.get('events/2026/03/02/000000000004-evt_d.json')).toBe('four');
    // No temporary file is left behind, and every object is read-only.
    expect(readdirSync(join(dir, 'bunker', 'events', '2026', '03', '01')).sort()).toEqual([
      '000000000001-evt_a.json',
      '000000000002-evt_b.json',
      '000000000003-evt_c.json',
    ]);
    expect(statSync(join(dir, 'bunker', 'events/2026/03/01/000000000001-evt_a.json')).mode & 0o222).toBe(0);
    // A day directory removed after the sink remembered it is made again rather than failing the put.
    rmSync(join(dir, 'bunker', 'events', '2026', '03', '02'), { recursive: true });
    expect(await sink.put('events/2026/03/02/000000000005-evt_e.json', 'five')).toBe('written');
  });

  it('resumes with no gap and no duplicate after one object of a many-object put failed mid-window', async () => {
    const store = new MemoryChainStore(generateHistory(120));
    const real = new FileSink(join(dir, 'bunker'));
    let failOn: string | null = eventKey(store.events[40]!);
    const failing: BunkerSink = {
      location: real.location,
      list: (prefix) => real.list(prefix),
      get: (key) => real.get(key),
      put: (key, body, type) => real.put(key, body, type),
      putMany: async (objects) => {
        const results = await real.putMany(objects.filter((object) => object.key !== failOn));
        return objects.map((object) =>
          object.key === failOn
            ? { status: 'rejected' as const, reason: new Error('disk full') }
            : results.shift()!,
        );
      },
    };
    const cursor = new MemoryCursorStore();
    const shipper = () =>
      new AuditShipper({
        store: asStore(store),
        sink: failing,
        cursor,
        signer,
        policy: { everyEvents: 50, everyMinutes: 15 },
        clock: fixedClock,
        logger: silentLogger,
        parallelPuts: 64,
        checkpointEvery: 64,
      });
    await expect(shipper().shipPending()).rejects.toThrow('disk full');
    // The cursor stops right before the failed object although later ones in its window were written.
    expect(cursor.cursor.shippedSeq).toBe(40);
    failOn = null;
    const resumed = await shipper().shipPending();
    expect(resumed).toMatchObject({ shipped: 80, lastSeq: 120 });
    const files = listFiles(join(dir, 'bunker'), 'events');
    expect(files.map((file) => Number(/(\d{12})-/.exec(file)?.[1]))).toEqual(
      Array.from({ length: 120 }, (_, i) => i + 1),
    );
    expect(await verifyBunker(real, await trustOf(signer))).toMatchObject({ ok: true, events: 120 });
  });

  it('stops at a conflicting object, records bunker.conflict and reports not ready', async () => {
    const store = new MemoryChainStore(generateHistory(20));
    const sink = new FileSink(join(dir, 'bunker'));
    await sink.put(eventKey(store.events[4]!), '{"forged":true}');
    const cursor = new MemoryCursorStore();
    const shipper = shipperFor(store, sink, cursor);
    const result = await shipper.shipPending();
    expect(result).toMatchObject({ shipped: 4, lastSeq: 4, halted: true });
    expect(store.events.at(-1)?.type).toBe('bunker.conflict');
    expect(store.events.at(-1)?.data).toMatchObject({ seq: 5 });
    expect(await sink.get(eventKey(store.events[4]!))).toBe('{"forged":true}');
    expect((await shipper.shipPending()).shipped).toBe(0);
    const ready = await shipper.readiness().check();
    expect(ready.ok).toBe(false);
    expect(ready.lagEvents).toBe(17);
  });

  it('seals a digest after everyMinutes even when fewer than everyEvents arrived', async () => {
    const store = new MemoryChainStore(generateHistory(7));
    const sink = new FileSink(join(dir, 'bunker'));
    await shipperFor(store, sink, new MemoryCursorStore(), 1000, 15).shipPending();
    // No digest yet: the heartbeat rule fires at the end of the first run.
    expect(listFiles(join(dir, 'bunker'), 'digests')).toHaveLength(1);
    expect(await verifyBunker(sink, await trustOf(signer))).toMatchObject({
      ok: true,
      digests: 1,
      unsealed: 0,
    });
  });

  it('writes a heartbeat digest every everyMinutes when nothing happened, chained to the one before', async () => {
    const store = new MemoryChainStore(generateHistory(10));
    const sink = new FileSink(join(dir, 'bunker'));
    let now = fixedClock.now().getTime();
    const clock = { now: () => new Date(now) };
    const cursor = new MemoryCursorStore();
    const shipper = shipperFor(store, sink, cursor, 50, 15, clock);
    await shipper.shipPending();
    expect(listFiles(join(dir, 'bunker'), 'digests')).toEqual(['000000000010-000000000001.jws']);
    now += 10 * 60_000;
    await shipper.shipPending();
    expect(listFiles(join(dir, 'bunker'), 'digests')).toHaveLength(1);
    now += 6 * 60_000;
    await shipper.shipPending();
    expect(listFiles(join(dir, 'bunker'), 'digests')).toEqual([
      '000000000010-000000000001.jws',
      '000000000010-000000000002.jws',
    ]);
    const heartbeat = JSON.parse(
      Buffer.from(
        (await sink.get('digests/000000000010-000000000002.jws'))!.split('.')[1]!,
        'base64url',
      ).toString(),
    );
    expect(heartbeat).toMatchObject({
      n: 2,
      fromSeq: 11,
      toSeq: 10,
      count: 0,
      time: clock.now().toISOString(),
    });
    const trusted = (await trustOf(signer)).trusted;
    expect(await verifyBunker(sink, { trusted, at: clock.now() })).toMatchObject({
      ok: true,
      digests: 2,
      newestDigest: { n: 2, ageSeconds: 0 },
    });
  });

  describe('tampering with the bunker is reported with the first bad seq', () => {
    let bunker: string;
    let store: MemoryChainStore;
    beforeEach(async () => {
      store = new MemoryChainStore(generateHistory(200));
      const sink = new FileSink(join(dir, 'pristine'));
      await shipperFor(store, sink, new MemoryCursorStore()).shipPending();
      bunker = join(dir, 'tampered');
      cpSync(join(dir, 'pristine'), bunker, { recursive: true });
    });
    const pathOf = (seq: number) => join(bunker, eventKey(store.events[seq - 1]!));
    const rewrite = (path: string, text: string) => {
      rmSync(path);
      writeFileSync(path, text);
    };

    it('an edited event', async () => {
      const event = JSON.parse(readFileSync(pathOf(42), 'utf8')) as AuditEvent;
      rewrite(pathOf(42), JSON.stringify({ ...event, data: { ...event.data, reason: 'nothing to see' } }));
      expect(await verifyBunker(new FileSink(bunker), await trustOf(signer))).toMatchObject({
        ok: false,
        firstBadSeq: 42,
        reason: 'hash_mismatch',
      });
    });

    it('a deleted event', async () => {
      rmSync(pathOf(42));
      expect(await verifyBunker(new FileSink(bunker), await trustOf(signer))).toMatchObject({
        ok: false,
        firstBadSeq: 42,
        reason: 'seq_gap',
      });
    });

    it('two events swapped', async () => {
      const a = readFileSync(pathOf(42), 'utf8');
      const b = readFileSync(pathOf(43), 'utf8');
      rewrite(pathOf(42), b);
      rewrite(pathOf(43), a);
      expect(await verifyBunker(new FileSink(bunker), await trustOf(signer))).toMatchObject({
        ok: false,
        firstBadSeq: 42,
        reason: 'misplaced',
      });
    });

    it('an event rewritten with the whole chain re-hashed after it', async () => {
      let prevHash = store.events[40]!.hash;
      for (let seq = 42; seq <= 200; seq++) {
        const original = JSON.parse(readFileSync(pathOf(seq), 'utf8')) as AuditEvent;
        const changed = { ...original, prevHash, ...(seq === 42 ? { data: { forged: true } } : {}) };
        const hash = hashEvent(changed);
        rewrite(pathOf(seq), JSON.stringify({ ...changed, hash }));
        prevHash = hash;
      }
      const result = await verifyBunker(new FileSink(bunker), await trustOf(signer));
      expect(result).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'digest_mismatch' });
    });

    it('a digest whose signature was replaced', async () => {
      const digests = listFiles(bunker, 'digests');
      const path = join(bunker, 'digests', digests[1]!);
      const [header, payload] = readFileSync(path, 'utf8').trim().split('.');
      const forger = new LocalKeySigner(join(dir, 'forger.json'));
      const forged = await signCompact(
        forger,
        JSON.parse(Buffer.from(payload!, 'base64url').toString()),
        DIGEST_JWS_TYP,
      );
      rewrite(path, `${header}.${payload}.${forged.split('.')[2]}\n`);
      expect(await verifyBunker(new FileSink(bunker), await trustOf(signer))).toMatchObject({
        ok: false,
        firstBadSeq: 100,
        reason: 'digest_signature_invalid',
      });
    });

    it('(e) the bunker re-hashed from one edit on, with every digest deleted, is refused as unsigned', async () => {
      let prevHash = store.events[40]!.hash;
      for (let seq = 42; seq <= 200; seq++) {
        const original = JSON.parse(readFileSync(pathOf(seq), 'utf8')) as AuditEvent;
        const changed = { ...original, prevHash, ...(seq === 42 ? { data: { forged: true } } : {}) };
        const hash = hashEvent(changed);
        rewrite(pathOf(seq), canonicalJson({ ...changed, hash }));
        prevHash = hash;
      }
      rmSync(join(bunker, 'digests'), { recursive: true });
      const result = await verifyBunker(new FileSink(bunker), await trustOf(signer));
      console.log(`(e) verifier: ${result.ok ? 'ok' : `${result.reason}: ${result.detail}`}`);
      expect(result).toMatchObject({
        ok: false,
        reason: 'unsigned',
        detail: 'the bunker holds no signed digest',
      });
    });

    it('(f) digests re-signed with an own key placed in keys/ are refused: keys/ is informational', async () => {
      const forger = new LocalKeySigner(join(dir, 'forger.json'));
      for (const file of listFiles(bunker, 'digests')) {
        const path = join(bunker, 'digests', file);
        const payload = JSON.parse(
          Buffer.from(readFileSync(path, 'utf8').split('.')[1]!, 'base64url').toString(),
        );
        rewrite(path, `${await signCompact(forger, payload, DIGEST_JWS_TYP)}\n`);
      }
      for (const key of await forger.publicKeys()) {
        writeFileSync(join(bunker, 'keys', `${key.kid}.json`), JSON.stringify(key));
      }
      const result = await verifyBunker(new FileSink(bunker), await trustOf(signer));
      console.log(`(f) verifier: ${result.ok ? 'ok' : `${result.reason}: ${result.detail}`}`);
      expect(result).toMatchObject({ ok: false, reason: 'untrusted_key' });
      expect(result.ok ? '' : result.detail).toContain(await forger.keyId());
    });

    it('(g) the newest events deleted with their digests fail once the heartbeat is overdue', async () => {
      for (let seq = 151; seq <= 200; seq++) rmSync(pathOf(seq));
      for (const file of listFiles(bunker, 'digests').filter((name) => name.startsWith('000000000200'))) {
        rmSync(join(bunker, 'digests', file));
      }
      const { trusted } = await trustOf(signer);
      // Right after the deletion the trimmed bunker still looks whole…
      expect(await verifyBunker(new FileSink(bunker), { trusted, at: fixedClock.now() })).toMatchObject({
        ok: true,
        lastSeq: 150,
      });
      // …but no heartbeat follows: 15 minutes + 5 grace later it is stale.
      const later = new Date(fixedClock.now().getTime() + 21 * 60_000);
      const stale = await verifyBunker(new FileSink(bunker), { trusted, at: later });
      console.log(`(g) verifier: ${stale.ok ? 'ok' : `${stale.reason}: ${stale.detail}`}`);
      expect(stale).toMatchObject({ ok: false, reason: 'stale', firstBadSeq: 151 });
      expect(
        await verifyBunker(new FileSink(bunker), { trusted, at: later, allowStale: true }),
      ).toMatchObject({
        ok: true,
        stale: expect.stringContaining('heartbeat'),
      });
    });

    it('without a trusted key nothing passes unless unsigned results are allowed, and then it says so', async () => {
      const untrusted = await verifyBunker(new FileSink(bunker), { trusted: null, at: fixedClock.now() });
      expect(untrusted).toMatchObject({ ok: false, reason: 'unsigned' });
      expect(
        await verifyBunker(new FileSink(bunker), {
          trusted: null,
          allowUnsigned: true,
          at: fixedClock.now(),
        }),
      ).toMatchObject({
        ok: true,
        signature: 'unsigned',
        unsigned: expect.stringContaining('no trusted key'),
      });
    });

    it('a missing digest', async () => {
      rmSync(join(bunker, 'digests', listFiles(bunker, 'digests')[1]!));
      expect(await verifyBunker(new FileSink(bunker), await trustOf(signer))).toMatchObject({
        ok: false,
        firstBadSeq: 51,
        reason: 'digest_missing',
      });
    });
  });
});

describe('the S3 sink', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());
  const sink = () =>
    new S3Sink({
      client: new S3Client({ region: 'us-east-1' }),
      bucket: 'audit',
      prefix: 'bg/',
      expectedBucketOwner: '111122223333',
    });
  const body = (text: string) => ({ transformToString: async () => text });
  const preconditionFailed = () =>
    new S3ServiceException({
      name: 'PreconditionFailed',
      $fault: 'client',
      $metadata: { httpStatusCode: 412 },
      message: 'At least one of the pre-conditions you specified did not hold',
    });

  it('writes with IfNoneMatch "*", the expected bucket owner and a SHA-256 checksum', async () => {
    s3.on(PutObjectCommand).resolves({});
    expect(await sink().put('events/2026/01/01/000000000001-evt_a.json', '{"seq":1}')).toBe('written');
    const input = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'audit',
      Key: 'bg/events/2026/01/01/000000000001-evt_a.json',
      IfNoneMatch: '*',
      ExpectedBucketOwner: '111122223333',
      ChecksumAlgorithm: 'SHA256',
    });
    expect(input.ChecksumSHA256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('counts a 412 on an identical object as shipped', async () => {
    s3.on(PutObjectCommand).rejects(preconditionFailed());
    s3.on(GetObjectCommand).resolves({ Body: body('{"seq":1}') } as never);
    expect(await sink().put('events/x.json', '{"seq":1}')).toBe('identical');
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toMatchObject({
      ExpectedBucketOwner: '111122223333',
    });
  });

  it('raises a conflict on a 412 over different bytes', async () => {
    s3.on(PutObjectCommand).rejects(preconditionFailed());
    s3.on(GetObjectCommand).resolves({ Body: body('{"seq":1,"forged":true}') } as never);
    await expect(sink().put('events/x.json', '{"seq":1}')).rejects.toBeInstanceOf(BunkerConflict);
  });
});

describe('the KMS signer', () => {
  const kms = mockClient(KMSClient);
  it('turns KMS DER signatures into JOSE ES256 that verify against the published key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    kms.on(GetPublicKeyCommand).resolves({
      KeySpec: 'ECC_NIST_P256',
      PublicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    });
    const signer = new KmsSigner({ client: new KMSClient({ region: 'us-east-1' }), keyId: 'alias/audit' });
    const header = { alg: 'ES256', kid: await signer.keyId(), typ: DIGEST_JWS_TYP };
    const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify({ hello: 'world' })).toString('base64url')}`;
    kms
      .on(SignCommand)
      .callsFake((input: { Message: Uint8Array; MessageType: string; SigningAlgorithm: string }) => {
        expect(input.MessageType).toBe('DIGEST');
        expect(input.SigningAlgorithm).toBe('ECDSA_SHA_256');
        expect(Buffer.from(input.Message).toString('hex')).toBe(
          createHash('sha256').update(signingInput).digest('hex'),
        );
        // What KMS returns: a DER-encoded ECDSA signature.
        return {
          Signature: new Uint8Array(
            sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'der' }),
          ),
        };
      });
    const jws = await signCompact(signer, { hello: 'world' }, DIGEST_JWS_TYP);
    expect(jws.startsWith(signingInput)).toBe(true);
    const check = await verifyCompact<{ hello: string }>(jws, await auditJwks(signer), DIGEST_JWS_TYP);
    expect(check).toMatchObject({ ok: true, payload: { hello: 'world' } });
  });

  it('publishes retired keys after the signing key, so digests signed before a rotation keep verifying', async () => {
    const current = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const retired = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const der = (key: typeof current) => new Uint8Array(key.export({ format: 'der', type: 'spki' }));
    kms.reset();
    kms
      .on(GetPublicKeyCommand, { KeyId: 'alias/audit-2027' })
      .resolves({ KeySpec: 'ECC_NIST_P256', PublicKey: der(current) });
    kms
      .on(GetPublicKeyCommand, { KeyId: 'alias/audit-2026' })
      .resolves({ KeySpec: 'ECC_NIST_P256', PublicKey: der(retired) });
    const signer = new KmsSigner({
      client: new KMSClient({ region: 'us-east-1' }),
      keyId: 'alias/audit-2027',
      retiredKeyIds: ['alias/audit-2026'],
    });
    const keys = await signer.publicKeys();
    expect(keys).toHaveLength(2);
    expect(keys[0]!.kid).toBe(await signer.keyId());
    expect(keys[1]!.x).toBe(retired.export({ format: 'jwk' }).x);
  });

  it('pads short r and s values', () => {
    const der = Uint8Array.from([0x30, 0x08, 0x02, 0x02, 0x00, 0x80, 0x02, 0x02, 0x01, 0x02]);
    const raw = derToJoseSignature(der, 32);
    expect(raw).toHaveLength(64);
    expect(raw[31]).toBe(0x80);
    expect(raw[62]).toBe(0x01);
    expect(raw[63]).toBe(0x02);
  });
});
