import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppendInput, AuditRecord, AuditStore } from '../../src/audit';
import {
  AuditKeyConflictError,
  AuditLedger,
  GENESIS_HASH,
  checkpointHash,
  leafHashOf,
  readWitness,
  verifyLedger,
  verifyStore,
} from '../../src/audit';
import { signWith, testKey } from './ledger-fixture';

/** How the shared suite gets a fresh, empty store (and more connections to the same one). */
export interface StoreFactory {
  /** A new, empty ledger; `connect` opens further connections to that same ledger. */
  fresh(opts?: { now?: () => Date }): Promise<{ store: AuditStore; connect: () => Promise<AuditStore> }>;
}

function input(i: number, over: Partial<AppendInput> = {}): AppendInput {
  return {
    idempotencyKey: `run-1/audit/${i}`,
    workflowId: 'wf-1',
    runId: 'run-1',
    type: i % 2 ? 'policy.decision' : 'tool.executed',
    actor: { kind: 'system', id: 'warden' },
    data: { i, tool: 'lookup_ip', args: { ip: `203.0.113.${i % 255}` }, note: 'ünïcødé ✓' },
    ...over,
  };
}

async function all(store: AuditStore): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const batch of store.scan(7)) out.push(...batch);
  return out;
}

const key = testKey();
const signer = key.signer;

/** Seals whatever waits (PostgreSQL's intake; a no-op for SQLite) without signing anything. */
async function settle(store: AuditStore): Promise<void> {
  await store.checkpointNow({ at: new Date(), force: false });
}

/** The behaviour every AuditStore must have; run against SQLite and PostgreSQL. */
export function describeAuditStore(name: string, factory: () => StoreFactory): void {
  describe(`${name} audit store`, () => {
    const opened: AuditStore[] = [];
    const fresh = async (opts?: { now?: () => Date }) => {
      const f = await factory().fresh(opts);
      opened.push(f.store);
      return {
        store: f.store,
        connect: async () => {
          const s = await f.connect();
          opened.push(s);
          return s;
        },
      };
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    it('numbers records contiguously from 1 and chains each to the previous leaf hash', async () => {
      const { store } = await fresh();
      const recs: AuditRecord[] = [];
      for (let i = 1; i <= 12; i++) recs.push(await store.append(input(i)));
      expect(recs.map((r) => r.seq)).toEqual([...Array(12).keys()].map((k) => k + 1));
      expect(recs[0]!.prevHash).toBe(GENESIS_HASH);
      for (let i = 1; i < recs.length; i++) expect(recs[i]!.prevHash).toBe(recs[i - 1]!.leafHash);
      for (const r of recs) expect(leafHashOf(r)).toBe(r.leafHash);
      const stored = await all(store);
      expect(stored).toEqual(recs);
      expect(verifyLedger(stored, [], [])).toMatchObject({ ok: true, checked: 12 });
      expect(await store.head()).toEqual(recs[11]);
    });

    it('round-trips every field exactly as hashed (optional fields absent, data untouched)', async () => {
      const { store } = await fresh();
      const full = await store.append({
        ...input(1),
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
        ts: '2025-01-02T03:04:05.678Z',
        // `undefined` is not JSON: callers' objects may still carry it, and it must vanish before hashing.
        data: {
          n: 1.5,
          big: 2 ** 64,
          neg: -0,
          nested: { z: [1, 'x', null, true] },
          undef: undefined,
        } as unknown as AppendInput['data'],
      });
      const bare = await store.append({ ...input(2), runId: undefined, data: undefined });
      expect(full.ts).toBe('2025-01-02T03:04:05.678Z');
      expect(full.data).not.toHaveProperty('undef');
      expect(bare).not.toHaveProperty('runId');
      expect(bare).not.toHaveProperty('traceId');
      expect(bare.data).toEqual({});
      expect(await all(store)).toEqual([full, bare]);
      expect(verifyLedger(await all(store), [], [])).toMatchObject({ ok: true, checked: 2 });
    });

    it('returns the original record for a retried key: no duplicate, no gap', async () => {
      const { store } = await fresh();
      const first = await store.append(input(1));
      const retry = await store.append({ ...input(1), data: { different: 'payload on retry' } });
      expect(retry).toEqual(first);
      const next = await store.append(input(2));
      expect(next.seq).toBe(2);
      expect((await all(store)).map((r) => r.seq)).toEqual([1, 2]);
    });

    it('refuses a key reused for another run or type, and invalid input, without appending', async () => {
      const { store } = await fresh();
      await store.append(input(1));
      await expect(store.append({ ...input(1), workflowId: 'wf-other' })).rejects.toBeInstanceOf(AuditKeyConflictError);
      await expect(store.append({ ...input(2), type: 'Not A Type' })).rejects.toThrow(/dotted lowercase/);
      await expect(store.append({ ...input(3), data: { blob: 'x'.repeat(70_000) } })).rejects.toThrow(
        /store large payloads elsewhere/,
      );
      expect((await all(store)).map((r) => r.seq)).toEqual([1]);
    });

    it('leaves no trace of an append that fails inside its transaction; the retry lands once', async () => {
      let fail = true;
      const { store } = await fresh({
        now: () => {
          if (fail) throw new Error('simulated crash mid-append');
          return new Date();
        },
      });
      await expect(store.append(input(1))).rejects.toThrow(/simulated crash/);
      expect(await store.head()).toBeUndefined();
      fail = false;
      const r = await store.append(input(1));
      expect(r.seq).toBe(1);
      expect((await store.append(input(1))).seq).toBe(1);
      expect(await store.list()).toHaveLength(1);
    });

    it('lists by workflow, from a seq, with a limit', async () => {
      const { store } = await fresh();
      for (let i = 1; i <= 10; i++) await store.append(input(i, { workflowId: i % 2 ? 'wf-odd' : 'wf-even' }));
      expect((await store.list({ workflowId: 'wf-odd' })).map((r) => r.seq)).toEqual([1, 3, 5, 7, 9]);
      expect((await store.list({ fromSeq: 8 })).map((r) => r.seq)).toEqual([8, 9, 10]);
      expect((await store.list({ workflowId: 'wf-even', fromSeq: 3, limit: 2 })).map((r) => r.seq)).toEqual([4, 6]);
      expect(await store.list({ workflowId: 'nope' })).toEqual([]);
    });

    it('stores checkpoints idempotently and in seq order', async () => {
      const { store } = await fresh();
      const recs: AuditRecord[] = [];
      for (let i = 1; i <= 5; i++) recs.push(await store.append(input(i)));
      const cp2 = signWith(key.privateKey, recs[1]!, undefined);
      const cp5 = signWith(key.privateKey, recs[4]!, cp2);
      await store.addCheckpoint(cp5);
      await store.addCheckpoint(cp2);
      await store.addCheckpoint(signWith(key.privateKey, recs[4]!, cp2, '2030-01-01T00:00:00.000Z'));
      expect(await store.checkpoints()).toEqual([cp2, cp5]);
      expect(await store.latestCheckpoint()).toEqual(cp5);
      expect(await verifyStore(store, [signer.publicKey])).toMatchObject({ ok: true, checked: 5, checkpoints: 2 });
    });

    it('appends a batch in order, exactly once, and refuses a batch with one invalid record whole', async () => {
      const { store } = await fresh();
      const batch = [1, 2, 3, 4].map((i) => input(i));
      const receipts = await store.appendMany(batch);
      expect(receipts.map((r) => r.idempotencyKey)).toEqual(batch.map((b) => b.idempotencyKey));
      const again = await store.appendMany([input(3), input(5), input(1)]);
      expect(again.map((r) => r.idempotencyKey)).toEqual(['run-1/audit/3', 'run-1/audit/5', 'run-1/audit/1']);
      await expect(store.appendMany([input(6), { ...input(7), type: 'Bad Type' }])).rejects.toThrow(/dotted lowercase/);
      await expect(store.appendMany([input(8), { ...input(1), workflowId: 'other' }])).rejects.toBeInstanceOf(
        AuditKeyConflictError,
      );
      await settle(store);
      const stored = await all(store);
      expect(stored.map((r) => [r.seq, r.idempotencyKey])).toEqual([1, 2, 3, 4, 5].map((i) => [i, `run-1/audit/${i}`]));
      expect(await store.backlog()).toEqual({ count: 0 });
      expect(verifyLedger(stored, [], [])).toMatchObject({ ok: true, checked: 5 });
    });

    it('signs a due checkpoint in the transaction that seals the batch, chains it, and writes the witness', async () => {
      const { store } = await fresh();
      const witnessDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-witness-'));
      const warnings: string[] = [];
      try {
        await store.enableCheckpoints({
          signer,
          every: 5,
          intervalMs: 0,
          witnessDir,
          onWarning: (m) => warnings.push(m),
        });
        await store.appendMany([1, 2, 3].map((i) => input(i)));
        await settle(store);
        // The first records are anchored at once, so a ledger without any checkpoint is always an anomaly.
        expect((await store.checkpoints()).map((c) => c.seq)).toEqual([3]);
        await store.appendMany([4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => input(i)));
        await settle(store);
        const cps = await store.checkpoints();
        // Never more than `every` records after the newest checkpoint, whatever the batch size.
        expect(cps.length).toBeGreaterThanOrEqual(1);
        expect(cps[cps.length - 1]!.seq).toBe(12);
        expect(cps[0]!.prevCheckpoint).toBe(GENESIS_HASH);
        for (let i = 1; i < cps.length; i++) expect(cps[i]!.prevCheckpoint).toBe(checkpointHash(cps[i - 1]!));
        expect(await store.checkpointNow({ at: new Date(), force: true })).toBeUndefined();
        await store.append(input(13));
        const forced = await store.checkpointNow({ at: new Date(), force: true });
        expect(forced).toMatchObject({ seq: 13, prevCheckpoint: checkpointHash(cps[cps.length - 1]!) });
        const witnessed = readWitness([witnessDir]).map((w) => w.checkpoint);
        expect(witnessed).toEqual(await store.checkpoints());
        const result = await verifyStore(store, [signer.publicKey], {
          witness: readWitness([witnessDir]),
          freshness: { maxRecords: 5, maxAgeMs: 60_000 },
        });
        expect(result).toMatchObject({ ok: true, checked: 13, witnessed: witnessed.length });
        expect(warnings).toEqual([]);
      } finally {
        fs.rmSync(witnessDir, { recursive: true, force: true });
      }
    });

    it('keeps one unforked chain under concurrent appends from several connections, retries included', async () => {
      const { store, connect } = await fresh();
      const conns = [store, await connect(), await connect(), await connect()];
      const jobs: Promise<AuditRecord>[] = [];
      for (let i = 1; i <= 200; i++) {
        jobs.push(conns[i % 4]!.append(input(i, { idempotencyKey: `run-c/${i}` })));
        // The same record retried on another connection at the same moment (a re-run activity).
        if (i % 10 === 0) jobs.push(conns[(i + 1) % 4]!.append(input(i, { idempotencyKey: `run-c/${i}` })));
      }
      const results = await Promise.all(jobs);
      const stored = await all(store);
      expect(stored.map((r) => r.seq)).toEqual([...Array(200).keys()].map((k) => k + 1));
      expect(new Set(stored.map((r) => r.idempotencyKey)).size).toBe(200);
      const byKey = new Map(stored.map((r) => [r.idempotencyKey, r]));
      for (const r of results) expect(r).toEqual(byKey.get(r.idempotencyKey));
      expect(verifyLedger(stored, [], [])).toMatchObject({ ok: true, checked: 200 });
    });

    it('AuditLedger signs a checkpoint every N records and on the interval, and verifies', async () => {
      let clock = Date.parse('2025-06-01T00:00:00.000Z');
      const now = () => new Date(clock);
      const { store, connect } = await fresh({ now });
      const ledger = new AuditLedger({ store, signer, checkpointEvery: 10, checkpointIntervalMs: 60_000, now });
      try {
        for (let i = 1; i <= 25; i++) await ledger.append(input(i));
        expect((await store.checkpoints()).map((c) => c.seq)).toEqual([1, 11, 21]);
        clock += 61_000;
        await ledger.append(input(26));
        expect((await store.checkpoints()).map((c) => c.seq)).toEqual([1, 11, 21, 26]);
        await ledger.append(input(27));
        expect(await ledger.checkpoint()).toMatchObject({ seq: 27, keyId: signer.keyId });
        expect(await ledger.checkpoint()).toBeUndefined();
        expect(await ledger.verify()).toMatchObject({ ok: true, checked: 27, checkpoints: 5 });
        expect(await ledger.verify([])).toMatchObject({ ok: false, firstBadSeq: 1 });
        await ledger.append(input(28));
      } finally {
        await ledger.close();
      }
      // Closing signed the last record: nothing is left unanchored.
      expect((await (await connect()).checkpoints()).map((c) => c.seq)).toEqual([1, 11, 21, 26, 27, 28]);
    });
  });
}
