import { describe, expect, it } from 'vitest';
import { MemoryAuditJournal } from '../../api/adapters/memory/audit-journal.js';
import { sealAll, verifyChain } from '../../api/domain/audit-chain.js';
import type { CommittedEvent } from '../../api/domain/types.js';
import type { Logger } from '../../api/ports/logger.js';
import { silentLogger } from '../../api/ports/logger.js';
import { Sealer } from '../../api/services/sealer.js';
import type { ShipResult } from '../../api/services/shipper.js';
import { FrozenClock } from './aws-support.js';

const committed = (n: number, time = '2026-11-22T10:00:00.000Z'): CommittedEvent => ({
  id: `evt_${String(n).padStart(6, '0')}`,
  time,
  type: 'access.forbidden',
  actor: { type: 'system', subject: 'test' },
  data: { n },
  simulated: false,
});

function setup(count: number, options: { batch?: number } = {}) {
  const journal = new MemoryAuditJournal({ sealBatchLimit: options.batch ?? 49 });
  for (let n = 1; n <= count; n++) journal.commit(committed(n));
  const clock = new FrozenClock(new Date('2026-11-22T10:00:05.000Z'));
  const lines: Record<string, unknown>[] = [];
  const logger = {
    ...silentLogger,
    info: (fields: Record<string, unknown>) => lines.push(fields),
    warn: (fields: Record<string, unknown>) => lines.push(fields),
  } as unknown as Logger;
  const sealer = new Sealer({ journal, clock, logger, maxLagSeconds: 60 });
  return { journal, clock, sealer, lines };
}

describe('Sealer', () => {
  it('chains every committed event once, in the order found, across batches', async () => {
    const { journal, sealer } = setup(130, { batch: 49 });
    const result = await sealer.run();
    expect(result.sealed).toBe(130);
    expect(journal.chain.map((event) => event.seq)).toEqual(Array.from({ length: 130 }, (_, i) => i + 1));
    expect(journal.chain.map((event) => event.id)).toEqual(
      Array.from({ length: 130 }, (_, i) => committed(i + 1).id),
    );
    expect(verifyChain(journal.chain).ok).toBe(true);
    // Sealing changes nothing of the committed event.
    const { seq: _seq, prevHash: _prev, hash: _hash, ...first } = journal.chain[0]!;
    expect(first).toEqual(committed(1));
    expect((await sealer.run()).sealed).toBe(0);
  });

  it('looks at the journal once per batch: the look that reached its end is the last', async () => {
    // 130 entries in batches of 49: 49 + 49 + 32, the third look reaches the end of the journal.
    const { journal, sealer } = setup(130, { batch: 49 });
    expect((await sealer.run()).sealed).toBe(130);
    expect(journal.looks).toBe(3);
    // A look that could not see the end (DynamoDB's stops at the limit) is followed by one that finds nothing.
    const cut = setup(30, { batch: 49 });
    const look = cut.journal.unsealed.bind(cut.journal);
    cut.journal.unsealed = async (limit) => ({ ...(await look(limit)), complete: false });
    expect((await cut.sealer.run()).sealed).toBe(30);
    expect(cut.journal.looks).toBe(2);
    // Nothing waiting: one look.
    const idle = setup(0);
    expect((await idle.sealer.run()).sealed).toBe(0);
    expect(idle.journal.looks).toBe(1);
  });

  it('a commit that lands after the run looked is left to its own trigger (the next run), not looked for again', async () => {
    const { journal, sealer } = setup(1);
    // The stream brought two commits; the second lands only after the first look began.
    const look = journal.unsealed.bind(journal);
    journal.unsealed = async (limit) => {
      const found = await look(limit);
      if (journal.looks === 1) journal.commit(committed(2));
      return found;
    };
    expect((await sealer.run()).sealed).toBe(1);
    expect(journal.looks).toBe(1);
    expect((await sealer.run()).sealed).toBe(1);
    expect(journal.chain.map((event) => event.seq)).toEqual([1, 2]);
  });

  it('seals a commit that arrives during a run in the same run, though its first look was complete', async () => {
    const { journal, sealer } = setup(3);
    // During the run's first seal a fourth commit lands and wakes the sealer, as the local loop's hook does.
    const seal = journal.seal.bind(journal);
    journal.seal = async (from, batch) => {
      await seal(from, batch);
      if (journal.chain.length === 3) {
        journal.commit(committed(4));
        void sealer.run();
      }
    };
    expect((await sealer.run()).sealed).toBe(4);
  });

  it('skips entries the lagging index still lists as unsealed instead of sealing them twice', async () => {
    const { journal, sealer } = setup(10);
    await sealer.run();
    for (const event of journal.chain.slice(0, 5)) journal.staleIndex.add(event.id);
    journal.commit(committed(11));
    const result = await sealer.run();
    expect(result.sealed).toBe(1);
    expect(journal.chain.map((event) => event.id)).toEqual(
      Array.from({ length: 11 }, (_, i) => committed(i + 1).id),
    );
    expect(verifyChain(journal.chain).ok).toBe(true);
  });

  it('re-reads the head when another sealer moved it, and continues the chain it finds', async () => {
    const { journal, sealer } = setup(6);
    // Another sealer seals the first two events between our read and our write.
    journal.interloper = () => {
      const head = { seq: 0, hash: '0'.repeat(64) };
      const other = sealAll([committed(1), committed(2)], head).sealed;
      journal.chain.push(...other);
      (journal as unknown as { entries: Map<string, { seq?: number }> }).entries.get(committed(1).id)!.seq =
        1;
      (journal as unknown as { entries: Map<string, { seq?: number }> }).entries.get(committed(2).id)!.seq =
        2;
    };
    const result = await sealer.run();
    expect(result.sealed).toBe(4);
    expect(journal.chain.map((event) => event.id)).toEqual(
      Array.from({ length: 6 }, (_, i) => committed(i + 1).id),
    );
    expect(verifyChain(journal.chain).ok).toBe(true);
  });

  it('reports the seal lag: readiness turns red past the threshold; the run logs the SealLagSeconds metric', async () => {
    const { sealer, clock, lines } = setup(3);
    expect(await sealer.lag()).toEqual({ unsealed: 3, oldestUnsealedAgeSeconds: 5 });
    expect(await sealer.readiness().check()).toMatchObject({ ok: true, unsealed: 3 });
    clock.advanceMinutes(2);
    expect(await sealer.readiness().check()).toMatchObject({
      ok: false,
      oldestUnsealedAgeSeconds: 125,
      detail: 'oldest unsealed event is older than 60s',
    });
    await sealer.run();
    expect(lines.find((line) => line.metric === 'audit.sealing')).toMatchObject({
      EventsSealed: 3,
      SealLagSeconds: 125,
    });
    expect(await sealer.lag()).toEqual({ unsealed: 0, oldestUnsealedAgeSeconds: null });
  });

  describe('shipping alongside sealing', () => {
    /** A shipper over the journal's chain: each pass ships what is sealed by then, one call at a time. */
    function followingShipper(journal: MemoryAuditJournal, options: { failOnPass?: number } = {}) {
      const passes: { sealedWhenStarted: number; shippedTo: number }[] = [];
      let shippedTo = 0;
      let inFlight = 0;
      const shipper = {
        shipPending: async (): Promise<ShipResult> => {
          inFlight += 1;
          expect(inFlight).toBe(1);
          const pass = { sealedWhenStarted: journal.chain.length, shippedTo: 0 };
          passes.push(pass);
          // Shipping takes a while: the sealer goes on meanwhile.
          await new Promise((resolve) => setImmediate(resolve));
          inFlight -= 1;
          if (passes.length === options.failOnPass) throw new Error('bunker unreachable');
          const shipped = pass.sealedWhenStarted - shippedTo;
          shippedTo = pass.sealedWhenStarted;
          pass.shippedTo = shippedTo;
          return { shipped, lastSeq: shippedTo };
        },
      };
      return { shipper, passes };
    }

    it('starts shipping after the first batch, not after the last, and ends with everything shipped', async () => {
      const journal = new MemoryAuditJournal({ sealBatchLimit: 10 });
      for (let n = 1; n <= 95; n++) journal.commit(committed(n));
      const { shipper, passes } = followingShipper(journal);
      const clock = new FrozenClock(new Date('2026-11-22T10:00:05.000Z'));
      const sealer = new Sealer({ journal, shipper, clock, logger: silentLogger, maxLagSeconds: 60 });
      const result = await sealer.run();
      expect(result.sealed).toBe(95);
      expect(result.shipped).toEqual({ shipped: 95, lastSeq: 95 });
      // The first pass began while most of the backlog was still unsealed.
      expect(passes[0]!.sealedWhenStarted).toBeLessThan(95);
      expect(passes.at(-1)!.shippedTo).toBe(95);
      expect(verifyChain(journal.chain).ok).toBe(true);
    });

    it('seals a commit that arrives during the run at once, while the bunker is still being written', async () => {
      const journal = new MemoryAuditJournal({ sealBatchLimit: 10 });
      for (let n = 1; n <= 20; n++) journal.commit(committed(n));
      let release: () => void = () => undefined;
      const bunkerSlow = new Promise<void>((resolve) => {
        release = resolve;
      });
      let passes = 0;
      let shippedTo = 0;
      const shipper = {
        shipPending: async (): Promise<ShipResult> => {
          passes += 1;
          if (passes === 1) await bunkerSlow;
          const shipped = journal.chain.length - shippedTo;
          shippedTo = journal.chain.length;
          return { shipped, lastSeq: shippedTo };
        },
      };
      const clock = new FrozenClock(new Date('2026-11-22T10:00:05.000Z'));
      const sealer = new Sealer({ journal, shipper, clock, logger: silentLogger, maxLagSeconds: 60 });
      const turns = async (done: () => boolean) => {
        for (let turn = 0; turn < 100 && !done(); turn++)
          await new Promise((resolve) => setImmediate(resolve));
      };
      const running = sealer.run();
      await turns(() => journal.chain.length === 20);
      journal.commit(committed(21));
      void sealer.run();
      await turns(() => journal.chain.length === 21);
      // Sealed although the first shipping pass has not come back.
      expect(journal.chain).toHaveLength(21);
      expect(passes).toBe(1);
      release();
      const result = await running;
      expect(result).toMatchObject({ sealed: 21, shipped: { shipped: 21, lastSeq: 21 } });
      expect(verifyChain(journal.chain).ok).toBe(true);
    });

    it('throws a shipping failure only after sealing has finished, and ships nothing more after it', async () => {
      const journal = new MemoryAuditJournal({ sealBatchLimit: 10 });
      for (let n = 1; n <= 60; n++) journal.commit(committed(n));
      const { shipper, passes } = followingShipper(journal, { failOnPass: 1 });
      const clock = new FrozenClock(new Date('2026-11-22T10:00:05.000Z'));
      const sealer = new Sealer({ journal, shipper, clock, logger: silentLogger, maxLagSeconds: 60 });
      await expect(sealer.run()).rejects.toThrow('bunker unreachable');
      expect(journal.chain).toHaveLength(60);
      expect(passes).toHaveLength(1);
      // The next run seals nothing and ships the whole chain.
      const again = await sealer.run();
      expect(again).toMatchObject({ sealed: 0, shipped: { shipped: 60, lastSeq: 60 } });
    });
  });
});
