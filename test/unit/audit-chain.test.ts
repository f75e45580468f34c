import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChainHead,
  ChainVerifier,
  canonicalJson,
  EMPTY_HEAD,
  GENESIS_HASH,
  hashEvent,
  sealEvent,
  verifyChain,
  verifySegment,
} from '../../api/domain/audit-chain.js';
import type { AuditEvent, AuditEventDraft } from '../../api/domain/types.js';

/**
 * An independent canonical JSON for the shapes audit events use (objects, arrays, strings, integers, booleans,
 * null): keys sorted by UTF-16 code units, no whitespace. Enough to check the library against, not a full JCS.
 */
function simpleCanonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(simpleCanonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${simpleCanonical(item)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isInteger(value)) throw new Error('integers only');
  return JSON.stringify(value);
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function draft(n: number): AuditEventDraft {
  return {
    type: n % 2 ? 'approval.recorded' : 'request.created',
    actor: { type: 'user', subject: `sub-${n}`, email: `user${n}@example.com`, via: 'cli' },
    requestId: `req_${n}`,
    roleId: 'prod-admin',
    accountId: '123456789012',
    data: { count: n, comment: `note ${n}`, nested: { z: true, a: null, list: [3, 1, 2] } },
  };
}

/** A sealed chain of `length` events starting after `head`. */
function chain(length: number, head: ChainHead = EMPTY_HEAD): AuditEvent[] {
  const events: AuditEvent[] = [];
  let current = head;
  for (let n = 1; n <= length; n++) {
    const event = sealEvent(
      {
        ...draft(current.seq + 1),
        id: `evt_${current.seq + 1}`,
        time: new Date(Date.UTC(2026, 10, 22, 10, 0, n)).toISOString(),
        simulated: false,
      },
      current,
    );
    events.push(event);
    current = { seq: event.seq, hash: event.hash };
  }
  return events;
}

const copy = (events: AuditEvent[]) => structuredClone(events);

describe('sealEvent', () => {
  it('chains: seq rises by one, prevHash is the previous hash, hash covers the canonical event without hash', () => {
    const events = chain(4);
    expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4]);
    expect(events[0]?.prevHash).toBe(GENESIS_HASH);
    expect(GENESIS_HASH).toMatch(/^0{64}$/);
    events.forEach((event, index) => {
      if (index > 0) expect(event.prevHash).toBe(events[index - 1]?.hash);
      const { hash, ...rest } = event;
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(hash).toBe(sha256(simpleCanonical(rest)));
      expect(hashEvent(event)).toBe(hash);
    });
    expect(new Set(events.map((event) => event.hash)).size).toBe(4);
  });

  it('carries the draft and meta fields, and continues from any head', () => {
    const head = { seq: 41, hash: 'a'.repeat(64) };
    const event = sealEvent(
      { ...draft(42), id: 'evt_x', time: '2026-11-22T10:00:00.000Z', simulated: true },
      head,
    );
    expect(event).toMatchObject({
      seq: 42,
      id: 'evt_x',
      time: '2026-11-22T10:00:00.000Z',
      type: 'request.created',
      requestId: 'req_42',
      simulated: true,
      prevHash: head.hash,
    });
  });

  it('omits absent optional fields and undefined values, so the stored JSON hashes the same', () => {
    const event = sealEvent(
      {
        type: 'access.forbidden',
        actor: { type: 'system', subject: 'sweeper' },
        data: { kept: 1, dropped: undefined },
        id: 'evt_1',
        time: '2026-11-22T10:00:00.000Z',
        simulated: false,
      },
      EMPTY_HEAD,
    );
    expect(Object.keys(event)).not.toContain('requestId');
    expect(Object.keys(event)).not.toContain('roleId');
    expect(event.data).toEqual({ kept: 1 });
    const stored = JSON.parse(JSON.stringify(event)) as AuditEvent;
    expect(hashEvent(stored)).toBe(event.hash);
    expect(verifyChain([stored]).ok).toBe(true);
  });

  it('hashes the same whatever order the fields were written in', () => {
    const [event] = chain(1);
    const reordered = Object.fromEntries(Object.entries(event!).reverse()) as unknown as AuditEvent;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(event));
    expect(hashEvent(reordered)).toBe(event!.hash);
  });
});

describe('canonicalJson (RFC 8785)', () => {
  it('matches the example of section 3.2.2', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units (section 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Read the keys off the text: JSON.parse would move the integer-like key "1" first.
    const keys = [...canonicalJson(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((match) =>
      JSON.parse(`"${match[1]}"`),
    );
    // U+1F600 (surrogates D83D DE00) sorts before U+FB33 by code units, after it by code points.
    expect(keys).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it.each([
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [1e-6, '0.000001'],
    [-0, '0'],
    [1e23, '1e+23'],
    [9007199254740991, '9007199254740991'],
    [0.1 + 0.2, '0.30000000000000004'],
    [-1.5e-10, '-1.5e-10'],
    [100, '100'],
  ])('formats the number %d as %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it('parses 1E-7 written in upper case to 1e-7', () => {
    expect(canonicalJson(JSON.parse('[1E-7, 1E21]'))).toBe('[1e-7,1e+21]');
  });

  it.each([
    ['\u000f', '"\\u000f"'],
    ['\n\t\b\f\r', '"\\n\\t\\b\\f\\r"'],
    ['"\\', '"\\"\\\\"'],
    ['/', '"/"'],
    ['é€😀', '"é€😀"'],
    ['\u007f', '"\u007f"'],
  ])('escapes %j as %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it('has no whitespace and nests canonically', () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: 'x' })).toBe('{"a":"x","b":[1,{"c":2,"d":1}]}');
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a bigint', 10n],
    ['undefined', undefined],
  ])('refuses %s', (_name, value) => {
    expect(() => canonicalJson(value)).toThrow();
  });

  it('agrees with the independent canonicaliser on random event-shaped data', () => {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node')),
        fc.dictionary(fc.string(), tie('node')),
      ),
    })).node;
    fc.assert(
      fc.property(value, (data) => {
        expect(canonicalJson(data)).toBe(simpleCanonical(data));
      }),
      { numRuns: 300 },
    );
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain and reports its head', () => {
    const events = chain(5);
    expect(verifyChain(events)).toEqual({
      ok: true,
      events: 5,
      firstSeq: 1,
      lastSeq: 5,
      lastHash: events[4]?.hash,
    });
  });

  it('accepts the empty chain', () => {
    expect(verifyChain([])).toEqual({
      ok: true,
      events: 0,
      firstSeq: null,
      lastSeq: 0,
      lastHash: GENESIS_HASH,
    });
  });

  it('accepts events after a JSON round trip (as stored and exported)', () => {
    const exported = chain(5).map((event) => JSON.stringify(event));
    expect(verifyChain(exported.map((line) => JSON.parse(line))).ok).toBe(true);
  });

  it.each<[string, (event: AuditEvent) => void]>([
    ['data', (event) => (event.data.count = 999)],
    ['type', (event) => (event.type = 'request.denied')],
    ['actor', (event) => ((event.actor as { email: string }).email = 'mallory@example.com')],
    ['time', (event) => (event.time = '2026-11-22T09:00:00.000Z')],
    ['simulated', (event) => (event.simulated = true)],
    ['an added field', (event) => ((event as unknown as Record<string, unknown>).extra = 1)],
    ['a removed field', (event) => delete (event as Partial<AuditEvent>).roleId],
  ])('a changed %s gives hash_mismatch at that seq', (_name, tamper) => {
    const events = copy(chain(5));
    tamper(events[2]!);
    expect(verifyChain(events)).toMatchObject({
      ok: false,
      firstBadSeq: 3,
      reason: 'hash_mismatch',
      events: 2,
    });
  });

  it('a change with a recomputed hash breaks the link to the next event', () => {
    const events = copy(chain(5));
    events[2]!.data.count = 999;
    events[2]!.hash = hashEvent(events[2]!);
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'prev_hash_mismatch' });
  });

  it('a changed prevHash is reported at that seq', () => {
    const events = copy(chain(5));
    events[2]!.prevHash = events[0]!.hash;
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'prev_hash_mismatch' });
  });

  it('a deleted event is a seq gap where it was', () => {
    const events = copy(chain(5));
    events.splice(2, 1);
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'seq_gap' });
  });

  it('two swapped events are reported at the first swapped seq', () => {
    const events = copy(chain(5));
    [events[1], events[2]] = [events[2]!, events[1]!];
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'seq_gap' });
  });

  it('swapped seq numbers with swapped positions still break the links', () => {
    const events = copy(chain(5));
    [events[1], events[2]] = [events[2]!, events[1]!];
    events[1]!.seq = 2;
    events[2]!.seq = 3;
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'prev_hash_mismatch' });
  });

  it('a duplicated event is a seq gap', () => {
    const events = copy(chain(3));
    events.splice(1, 0, structuredClone(events[1]!));
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'seq_gap' });
  });

  it.each([
    ['null', null],
    ['a string', 'event'],
    ['an object without hashes', { seq: 1, type: 'request.created' }],
  ])('%s is malformed', (_name, value) => {
    expect(verifyChain([value])).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'malformed' });
  });

  it('a forged chain from genesis does not verify from the real boundary', () => {
    const real = chain(3);
    const forged = chain(2, { seq: 3, hash: 'f'.repeat(64) });
    expect(verifyChain(forged, { seq: 3, hash: real[2]!.hash })).toMatchObject({
      ok: false,
      firstBadSeq: 4,
      reason: 'prev_hash_mismatch',
    });
  });

  it('fails closed on single-field tampering of random events', () => {
    const events = chain(6);
    const fields = [
      'seq',
      'id',
      'time',
      'type',
      'requestId',
      'roleId',
      'accountId',
      'simulated',
      'prevHash',
      'hash',
    ];
    fc.assert(
      fc.property(fc.nat({ max: 5 }), fc.constantFrom(...fields), fc.string(), (index, field, junk) => {
        const tampered = copy(events);
        const target = tampered[index] as unknown as Record<string, unknown>;
        const replacement = typeof target[field] === 'number' ? (target[field] as number) + 1 : `${junk}!`;
        if (field === 'simulated') target[field] = true;
        else target[field] = replacement;
        const result = verifyChain(tampered);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.firstBadSeq).toBe(index + 1);
      }),
      { numRuns: 200 },
    );
  });
});

describe('verifying a range from a boundary head', () => {
  const events = chain(6);
  const boundary = { seq: 2, hash: events[1]!.hash };

  it('accepts the slice after the boundary', () => {
    expect(verifyChain(events.slice(2), boundary)).toEqual({
      ok: true,
      events: 4,
      firstSeq: 3,
      lastSeq: 6,
      lastHash: events[5]?.hash,
    });
  });

  it('refuses a slice that does not start right after the boundary', () => {
    expect(verifyChain(events.slice(3), boundary)).toMatchObject({
      ok: false,
      firstBadSeq: 3,
      reason: 'seq_gap',
    });
  });

  it('refuses a boundary with the wrong hash', () => {
    expect(verifyChain(events.slice(2), { seq: 2, hash: events[0]!.hash })).toMatchObject({
      ok: false,
      firstBadSeq: 3,
      reason: 'prev_hash_mismatch',
    });
  });

  it('streams with constant state: push reports each step, and stops after the first failure', () => {
    const verifier = new ChainVerifier(boundary);
    expect(verifier.push(events[2])).toBe(true);
    expect(verifier.push(events[3])).toBe(true);
    expect(verifier.result()).toMatchObject({ ok: true, events: 2, lastSeq: 4, lastHash: events[3]!.hash });
    expect(verifier.push(events[5])).toBe(false);
    // Later good events do not clear the failure.
    expect(verifier.push(events[4])).toBe(false);
    expect(verifier.result()).toMatchObject({ ok: false, firstBadSeq: 5, reason: 'seq_gap', events: 2 });
  });
});

describe('canonicalJson agrees with the canonicalize package', () => {
  it('for arbitrary JSON values', async () => {
    const { default: canonicalizeModule } = await import('canonicalize');
    const reference = canonicalizeModule as unknown as (value: unknown) => string;
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // JSON round trip: -0 and other non-JSON artefacts are not part of the contract.
        const json = JSON.parse(JSON.stringify(value)) as unknown;
        expect(canonicalJson(json)).toBe(reference(json));
      }),
      { numRuns: 500 },
    );
  });

  it('for values read back from canonical text (keys in order already: the JSON.stringify shortcut)', async () => {
    const { default: canonicalizeModule } = await import('canonicalize');
    const reference = canonicalizeModule as unknown as (value: unknown) => string;
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = JSON.parse(reference(JSON.parse(JSON.stringify(value)))) as unknown;
        expect(canonicalJson(json)).toBe(reference(json));
      }),
      { numRuns: 500 },
    );
  });

  it('where JSON.stringify alone would differ: index-like keys, toJSON, undefined, non-JSON values', () => {
    // V8 lists index-like keys first, in numeric order; canonical order compares code units.
    expect(canonicalJson(JSON.parse('{"10":1,"9":2,"a":{"2":0,"11":0}}'))).toBe(
      '{"10":1,"9":2,"a":{"11":0,"2":0}}',
    );
    expect(canonicalJson({ at: new Date(0), b: [undefined, 1], c: undefined })).toBe(
      '{"at":{},"b":[null,1]}',
    );
    expect(() => canonicalJson({ a: 1, b: { toJSON: () => 'x' } })).toThrow(TypeError);
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ a: () => 1 })).toThrow(TypeError);
    expect(() => canonicalJson([1n])).toThrow(TypeError);
  });
});

describe('ChainVerifier.pushLine (canonical text without re-canonicalising)', () => {
  const lines = (events: AuditEvent[]) => events.map((event) => canonicalJson(event));

  it('accepts the canonical lines of an intact chain', () => {
    const verifier = new ChainVerifier();
    for (const line of lines(chain(20))) expect(verifier.pushLine(line)).toBe(true);
    expect(verifier.result()).toMatchObject({ ok: true, lastSeq: 20 });
  });

  it('accepts non-canonical but intact lines through the full path', () => {
    const verifier = new ChainVerifier();
    for (const event of chain(5)) expect(verifier.pushLine(JSON.stringify(event, null, 1))).toBe(true);
    expect(verifier.result()).toMatchObject({ ok: true, lastSeq: 5 });
  });

  it.each([
    ['a changed value inside data', (line: string) => line.replace('"note 7"', '"note 8"'), 'hash_mismatch'],
    [
      'a changed tail member',
      (line: string) => line.replace('"roleId":"prod-admin"', '"roleId":"prod-read"'),
      'hash_mismatch',
    ],
    ['a non-JSON line', () => '{"seq":7,', 'malformed'],
  ])('reports %s at the right seq', (_label, tamper, reason) => {
    const text = lines(chain(10));
    text[6] = tamper(text[6]!);
    const verifier = new ChainVerifier();
    for (const line of text) if (!verifier.pushLine(line)) break;
    expect(verifier.result()).toMatchObject({ ok: false, firstBadSeq: 7, reason });
  });

  /**
   * A chain whose event 3 is reshaped by `change` before sealing (the sealer hashes whatever it is given); `head`
   * is the position event 3 is sealed after.
   */
  function chainWith(
    change: (draft: AuditEventDraft & { id: string }, head: ChainHead) => void,
  ): AuditEvent[] {
    const events: AuditEvent[] = [];
    let head = EMPTY_HEAD;
    for (let n = 1; n <= 5; n++) {
      const committed = {
        ...draft(n),
        id: `evt_${n}`,
        time: new Date(Date.UTC(2026, 10, 22, 10, 0, n)).toISOString(),
        simulated: false,
      };
      if (n === 3) change(committed, head);
      const event = sealEvent(committed, head);
      events.push(event);
      head = { seq: event.seq, hash: event.hash };
    }
    return events;
  }

  // What the scanner must not be fooled by: data that looks like the tail, tails longer than where the search
  // starts, and tail strings with escapes (which only the full path reads correctly).
  const lookAlikeTail = (hash: string) => ({
    hash,
    id: 'evt_x',
    prevHash: hash,
    seq: 99,
    simulated: true,
    time: 'x',
    type: 'x',
  });
  it.each([
    [
      'data with its own hash member',
      (d: AuditEventDraft) => {
        d.data = { hash: 'a'.repeat(64), id: 'evt_fake' };
      },
    ],
    [
      'data shaped like a whole tail',
      (d: AuditEventDraft) => {
        d.data = { inner: lookAlikeTail('b'.repeat(64)) };
      },
    ],
    [
      'a tail longer than the search hint',
      (d: AuditEventDraft) => {
        d.requestId = `req_${'x'.repeat(900)}`;
      },
    ],
    [
      'a quote escaped in a tail string',
      (d: AuditEventDraft) => {
        d.roleId = 'prod-"admin"';
      },
    ],
    [
      'a backslash in a tail string',
      (d: AuditEventDraft & { id: string }) => {
        d.id = 'evt_\\3';
      },
    ],
  ])('accepts %s, and catches a change to it', (_label, change) => {
    const text = lines(chainWith(change));
    const intact = new ChainVerifier();
    for (const line of text) expect(intact.pushLine(line)).toBe(true);
    expect(intact.result()).toMatchObject({ ok: true, lastSeq: 5 });

    // The same event with one character of its tail changed and its own hash recomputed: the link to the next
    // event breaks, whichever path read it.
    const event = JSON.parse(text[2]!) as AuditEvent;
    const forged = { ...event, time: event.time.replace('10:00:03', '10:00:04') };
    text[2] = canonicalJson({ ...forged, hash: hashEvent(forged) });
    const verifier = new ChainVerifier();
    for (const line of text) if (!verifier.pushLine(line)) break;
    expect(verifier.result()).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'prev_hash_mismatch' });
  });

  // An insider who knows the algorithm keeps every hashed byte and moves only the hash member, in front of an
  // `id` key nested in data: the stripped line still hashes to the member's value, so only where the member sits
  // tells the line apart from its event's canonical JSON. The second case nests a look-alike of the whole tail
  // (the real prevHash and seq) behind that id, so the link and seq read from after it are right too.
  it.each([
    ['in front of a nested id', (_head: ChainHead) => ({ target: { id: 'i-0abc', note: 'x' } })],
    [
      'in front of a nested id followed by a whole look-alike tail (the real prevHash and seq)',
      (head: ChainHead) => ({
        inner: {
          id: 'i-0abc',
          prevHash: head.hash,
          seq: head.seq + 1,
          simulated: false,
          time: 't',
          type: 'y',
        },
      }),
    ],
  ])('refuses a line whose hash member was moved %s', (_label, data) => {
    const events = chainWith((committed, head) => {
      committed.data = data(head);
    });
    const text = lines(events);
    const member = `"hash":"${events[2]!.hash}",`;
    const stripped = text[2]!.replace(member, '');
    text[2] = stripped.replace('"id":"i-0abc"', `${member}"id":"i-0abc"`);
    expect(text[2]).not.toBe(lines(events)[2]);
    expect(createHash('sha256').update(text[2]!.replace(member, '')).digest('hex')).toBe(events[2]!.hash);

    for (const push of ['pushLine', 'pushCanonicalLine'] as const) {
      const verifier = new ChainVerifier();
      for (const line of text) if (!verifier[push](line)) break;
      expect([push, verifier.result()]).toMatchObject([
        push,
        { ok: false, firstBadSeq: 3, reason: 'malformed' },
      ]);
    }
  });

  // Without a trusted signature an insider can recompute any hash; the shortcut must still read a line as
  // JSON.parse does, or the one-thread and the parallel verifier (whose segments start from a parsed line) could
  // disagree. Each line is stripped text the attacker chose, with the matching hash member put before its last id.
  const forge = (stripped: string) => {
    const at = stripped.lastIndexOf('"id":"');
    const hash = createHash('sha256').update(stripped).digest('hex');
    return `${stripped.slice(0, at)}"hash":"${hash}",${stripped.slice(at)}`;
  };
  /** The line checked alone (pushLine, pushCanonicalLine) and as the first line of a segment: one verdict. */
  const expectOneVerdict = (line: string, verdict: Record<string, unknown>, start = EMPTY_HEAD) => {
    for (const canonical of [false, true]) {
      const single = new ChainVerifier(start);
      if (canonical) single.pushCanonicalLine(line);
      else single.pushLine(line);
      const linked = new ChainVerifier(start);
      linked.pushSegment(verifySegment(`${line}\n`, canonical));
      expect([canonical, single.result()]).toMatchObject([canonical, verdict]);
      expect([canonical, linked.result()]).toEqual([canonical, single.result()]);
    }
  };
  const tail = `"id":"x","prevHash":"${GENESIS_HASH}","seq":1,"simulated":false,"time":"t","type":"y"`;
  it.each([
    ['a second seq after the tail', `{"actor":{},"data":{},${tail},"seq":999}`, 'seq_gap'],
    [
      'a second prevHash after the tail',
      `{"actor":{},"data":{},${tail},"prevHash":"${'1'.repeat(64)}"}`,
      'prev_hash_mismatch',
    ],
    ['no closing brace', `{"actor":{},"data":{},${tail}`, 'malformed'],
    [
      'a top-level id that is a number',
      `{"actor":{},"data":{"id":"n"},"id":5,"prevHash":"${GENESIS_HASH}","seq":1,"simulated":false,"time":"t","type":"y"}`,
      'malformed',
    ],
    [
      'an escaped quote ending the time',
      `{"actor":{},"data":{},"id":"x","prevHash":"${GENESIS_HASH}","seq":1,"simulated":false,"time":"t\\","type":"y"}`,
      'malformed',
    ],
  ])(
    'an unsigned forgery with %s is read as JSON.parse reads it, alike on one thread and in segments',
    (_label, stripped, reason) => {
      expectOneVerdict(forge(stripped), { ok: false, firstBadSeq: 1, reason });
    },
  );

  // Before the hash member the shortcut reads nothing, so one thread accepts a line that is no JSON when its tail
  // and hash agree (unsigned: proves nothing). Where a segment starts, the line must be read the same way.
  it.each([
    ['follows the chain', GENESIS_HASH, { ok: true, events: 1 }],
    [
      'does not follow',
      '1'.repeat(64),
      { ok: false, firstBadSeq: 1, reason: 'malformed', detail: 'line is not JSON' },
    ],
  ])(
    'an unsigned line that is no JSON but has a readable tail and %s gets one verdict, alone or starting a segment',
    (_label, prevHash, verdict) => {
      const line = forge(
        `{ not json [[ {"actor":{},"data":{},"id":"x","prevHash":"${prevHash}","seq":1,"simulated":false,"time":"t","type":"y"}`,
      );
      expect(() => JSON.parse(line)).toThrow();
      expectOneVerdict(line, verdict);
    },
  );

  // Found in review (2026-11-28): inputs on which one thread and a segment's first line read a line differently,
  // or the shortcut read a member JSON.parse does not see.
  const members = (seq: string, prevHash = GENESIS_HASH) =>
    `"id":"x","prevHash":"${prevHash}","seq":${seq},"simulated":false,"time":"t","type":"y"}`;
  it.each([
    [
      'a fractional seq',
      `{"actor":{},"data":{},"hash":"${'a'.repeat(64)}",${members('0.1')}`,
      { ok: false, firstBadSeq: 1, reason: 'seq_gap', detail: 'expected seq 1, found 0.1' },
      EMPTY_HEAD,
    ],
    [
      'a seq past 2^53 on a line that is no JSON',
      forge(`{ not json [[ "actor":{},${members('9007199254740992')}`),
      { ok: false, reason: 'malformed', detail: 'line is not JSON' },
      { seq: Number.MAX_SAFE_INTEGER, hash: GENESIS_HASH },
    ],
    [
      'a prevHash slot holding quotes on a line that is no JSON',
      forge(`{ not json [[ "actor":{},${members('1', `ab","seq":7,${'p'.repeat(52)}`)}`),
      { ok: false, firstBadSeq: 1, reason: 'malformed', detail: 'line is not JSON' },
      EMPTY_HEAD,
    ],
  ])('%s gets one verdict, alone or starting a segment', (_label, line, verdict, start) => {
    expectOneVerdict(line, verdict, start);
  });

  it('refuses a hash member whose opening quote is escaped string content (part of a key JSON.parse reads)', () => {
    // JSON.parse reads the key `x"hash` holding the forged hash, and the event's own hash is the `zzz…` before it.
    const stripped = `{"actor":{},"data":{},"hash":"${'z'.repeat(64)}","x\\${members('1')}`;
    const line = `${stripped.slice(0, stripped.indexOf('"id":"'))}"hash":"${createHash('sha256').update(stripped).digest('hex')}",${stripped.slice(stripped.indexOf('"id":"'))}`;
    expect(JSON.parse(line)).toMatchObject({ hash: 'z'.repeat(64) });
    expectOneVerdict(line, { ok: false, firstBadSeq: 1, reason: 'hash_mismatch' });
  });

  it('refuses an unsigned forgery whose last string closes only on the next line', () => {
    // The tail's reader follows each string to its closing quote wherever that is, so only the line's end may
    // hold the last one. Here the line ends in a brace and its type is closed by the next line's `"}`: the full
    // path's, which finds no JSON. The forged line follows a real one, so it is read where it stands in the text.
    const [first] = chain(1);
    const line = forge(
      `{"actor":{},"data":{},"id":"x","prevHash":"${first!.hash}","seq":2,"simulated":false,"time":"t","type":"y}`,
    );
    for (const canonical of [false, true]) {
      const { result } = verifySegment(`${lines([first!])[0]}\n${line}\n"}\n`, canonical);
      expect([canonical, result]).toMatchObject([
        canonical,
        { ok: false, firstBadSeq: 2, reason: 'malformed' },
      ]);
    }
  });

  /**
   * Valid lines checked one by one and in one text (verifySegment) do the same work; a search that runs on
   * through the rest of the text made the text 10 to 80 times slower.
   */
  const expectLinearInText = (valid: string[], canonical: boolean) => {
    const timed = (check: () => boolean) => {
      const started = performance.now();
      expect(check()).toBe(true);
      return performance.now() - started;
    };
    const apart = timed(() => {
      const verifier = new ChainVerifier();
      return valid.every((line) => verifier.pushLine(line));
    });
    const inText = timed(() => verifySegment(`${valid.join('\n')}\n`, canonical).result.ok);
    expect(inText).toBeLessThan(apart * 5 + 200);
  };

  it('a look-alike member nested before each line’s own costs no search past the line (no quadratic time)', () => {
    // Each line's data holds a candidate the hint search finds first, reading like the tail up to an `r` (with
    // the true prevHash), and no line holds a requestId: a search for `","requestId":"` from the candidate
    // would run on through every later line.
    const events: AuditEvent[] = [];
    let head = EMPTY_HEAD;
    for (let n = 1; n <= 5000; n++) {
      const lookAlike = { hash: 'a'.repeat(64), id: 'a', prevHash: head.hash, rex: 1 };
      const event = sealEvent(
        {
          type: 'access.forbidden',
          actor: { type: 'user', subject: 's', email: 'e@example.com', via: 'cli' },
          data: { x: lookAlike },
          id: 'e',
          time: 't',
          simulated: false,
        },
        head,
      );
      events.push(event);
      head = { seq: event.seq, hash: event.hash };
    }
    const all = lines(events);
    const probe = all[10]!;
    expect(probe.indexOf('hash":"', probe.length - 400)).toBeLessThan(probe.lastIndexOf('hash":"'));
    expectLinearInText(all, true);
  });

  it('lines the shortcut refuses cost their own length, not the rest of the text (no quadratic time)', () => {
    // A `/1` export written by another tool, with a space after each colon of the hash member: valid JSON that
    // only the full path reads. Searched within the whole text, every line would scan on to the text's end.
    expectLinearInText(
      lines(chain(5000)).map((line) => line.replace('"hash":"', '"hash": "')),
      false,
    );
  });

  it('reports a deleted line as a seq gap', () => {
    const text = lines(chain(10));
    text.splice(3, 1);
    const verifier = new ChainVerifier();
    for (const line of text) if (!verifier.pushLine(line)) break;
    expect(verifier.result()).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'seq_gap' });
  });
});
