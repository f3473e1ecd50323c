import { Client } from 'pg';
import { PostgresAuditStore, verifyStore } from '../../src/audit';
import { SEAL_LOCK } from '../../src/audit/postgres-schema';
import type { TestPostgres } from '../harness/postgres';
import { startPostgres } from '../harness/postgres';
import { describeAuditStore } from './store-suite';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

describeAuditStore('PostgreSQL', () => ({
  fresh: async (opts) => {
    const url = await pg.freshDatabase();
    const open = () =>
      PostgresAuditStore.open({ connectionString: url, poolSize: 4, ...(opts?.now ? { now: opts.now } : {}) });
    return { store: await open(), connect: open };
  },
}));

describe('PostgreSQL audit store', () => {
  it('creates its schema once when a fleet starts at the same moment', async () => {
    const url = await pg.freshDatabase();
    const stores = await Promise.all([1, 2, 3, 4].map(() => PostgresAuditStore.open({ connectionString: url })));
    await Promise.all(
      stores.map((s, i) =>
        s.append({
          idempotencyKey: `k${i}`,
          workflowId: 'w',
          type: 'run.started',
          actor: { kind: 'system', id: 'warden' },
        }),
      ),
    );
    expect((await stores[0]!.list()).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('says where it is without the password, and refuses to create tables when asked to only read', async () => {
    const url = await pg.freshDatabase();
    await expect(PostgresAuditStore.open({ connectionString: url, create: false })).rejects.toThrow(
      /table audit_intake does not exist/,
    );
    const store = await PostgresAuditStore.open({ connectionString: url });
    expect(store.location).toMatch(/^postgres:\/\/127\.0\.0\.1:\d+\/warden_test_/);
    expect(store.location).not.toContain(new URL(url).password);
    await store.close();
  });

  it('accepts appends while the sealer is busy elsewhere, and verify covers the sealed part and reports the rest', async () => {
    const url = await pg.freshDatabase();
    const store = await PostgresAuditStore.open({ connectionString: url });
    const rec = (i: number) => ({
      idempotencyKey: `run-1/audit/${i}`,
      workflowId: 'wf',
      runId: 'run-1',
      type: 'tool.executed',
      actor: { kind: 'system' as const, id: 'warden' },
      ts: `2025-01-01T00:00:0${i}.000Z`,
    });
    await store.append(rec(0));
    // Another process holds the seal lock (it is sealing, or hangs): appends still land, durably.
    const other = new Client({ connectionString: url });
    await other.connect();
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock($1)', [SEAL_LOCK]);
    const receipts = await store.appendMany([rec(1), rec(2), rec(3)]);
    expect(receipts.map((r) => r.record)).toEqual([undefined, undefined, undefined]);
    expect(await store.appendMany([rec(2)])).toEqual([{ idempotencyKey: 'run-1/audit/2', record: undefined }]);
    expect(await store.backlog()).toEqual({ count: 3, oldestTs: '2025-01-01T00:00:01.000Z' });
    expect(await verifyStore(store, [])).toMatchObject({
      ok: true,
      checked: 1,
      backlog: { count: 3, oldestTs: '2025-01-01T00:00:01.000Z' },
    });
    await other.query('COMMIT');
    await other.end();
    await store.sealer.drain();
    expect((await store.list()).map((r) => r.idempotencyKey)).toEqual([0, 1, 2, 3].map((i) => `run-1/audit/${i}`));
    const again = await store.appendMany([rec(3), rec(0)]);
    expect(again.map((r) => r.record?.seq)).toEqual([4, 1]);
    expect(await verifyStore(store, [])).toEqual({ ok: true, checked: 4, checkpoints: 0, head: expect.anything() });
    await store.close();
  });

  it('gathers concurrent appends into one sealing round after sealDelayMs, and seals at once when asked', async () => {
    const url = await pg.freshDatabase();
    const rec = (i: number) => ({
      idempotencyKey: `run-2/audit/${i}`,
      workflowId: 'wf-2',
      type: 'tool.executed',
      actor: { kind: 'system' as const, id: 'warden' },
      data: { i, note: `record ${i}` },
    });
    // A delay longer than the test: nothing is sealed until something asks.
    const slow = await PostgresAuditStore.open({ connectionString: url, sealDelayMs: 600_000 });
    await Promise.all([1, 2, 3, 4].map((i) => slow.appendMany([rec(i)])));
    await new Promise((r) => setTimeout(r, 200));
    expect((await slow.backlog()).count).toBe(4);
    // append waits for its own seal, and takes the gathered records along in order of arrival.
    const fifth = await slow.append(rec(5));
    expect(fifth.seq).toBe(5);
    expect((await slow.backlog()).count).toBe(0);
    await slow.close();
    // A short delay seals by itself, and the payload copied inside the server is what was hashed.
    const quick = await PostgresAuditStore.open({ connectionString: url, sealDelayMs: 20 });
    await Promise.all([6, 7, 8].map((i) => quick.appendMany([rec(i)])));
    const deadline = Date.now() + 10_000;
    while ((await quick.backlog()).count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect((await quick.backlog()).count).toBe(0);
    const sealed = await quick.list();
    // Concurrent appends arrive in any order; each lands once, the awaited fifth after the first four.
    const order = sealed.map((r) => (r.data as { i: number }).i);
    expect(order.slice(0, 4).sort()).toEqual([1, 2, 3, 4]);
    expect(order[4]).toBe(5);
    expect(order.slice(5).sort()).toEqual([6, 7, 8]);
    expect(sealed[7]!.data).toEqual({ i: order[7], note: `record ${order[7]}` });
    expect(await verifyStore(quick, [])).toMatchObject({ ok: true, checked: 8 });
    await quick.close();
  });

  it('upgrades a ledger from before the intake, keeping its records and setting old checkpoints aside', async () => {
    const url = await pg.freshDatabase();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE TABLE audit_checkpoints (seq BIGINT PRIMARY KEY, leaf_hash TEXT NOT NULL, ts TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL);
                   INSERT INTO audit_checkpoints VALUES (1, 'x', 't', 'k', 's')`);
    await expect(PostgresAuditStore.open({ connectionString: url, create: false })).rejects.toThrow(/older Warden/);
    const store = await PostgresAuditStore.open({ connectionString: url });
    expect(await store.checkpoints()).toEqual([]);
    expect((await c.query('SELECT count(*)::int AS n FROM audit_checkpoints_v1')).rows[0]).toEqual({ n: 1 });
    await store.close();
    await c.end();
  });
});
