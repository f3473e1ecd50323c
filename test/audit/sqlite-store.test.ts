import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteAuditStore } from '../../src/audit';
import { describeAuditStore } from './store-suite';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-audit-sqlite-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

describeAuditStore('SQLite', () => ({
  fresh: (opts) => {
    const file = path.join(root, `ledger-${++n}`, 'audit.db');
    const open = () => Promise.resolve(SqliteAuditStore.open({ file, ...(opts?.now ? { now: opts.now } : {}) }));
    return open().then((store) => ({ store, connect: open }));
  },
}));

describe('SQLite audit store file', () => {
  it('is created 0600 in WAL mode, and is not created by readers', async () => {
    const file = path.join(root, 'perm', 'audit.db');
    expect(() => SqliteAuditStore.open({ file, create: false })).toThrow();
    expect(fs.existsSync(file)).toBe(false);
    const store = SqliteAuditStore.open({ file });
    await store.append({
      idempotencyKey: 'k',
      workflowId: 'w',
      type: 'run.started',
      actor: { kind: 'human', id: 'a' },
    });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    await store.close();
  });
});

describe('SQLite group commit', () => {
  it('commits concurrent appends from many callers in shared transactions, one chain, exactly once', async () => {
    const store = SqliteAuditStore.open({ file: path.join(root, 'group', 'audit.db') });
    const jobs = Array.from({ length: 300 }, (_, i) =>
      store.appendMany([
        {
          idempotencyKey: `run-${i}/audit/0`,
          workflowId: `wf-${i}`,
          type: 'run.started',
          actor: { kind: 'system', id: 'warden' },
        },
        {
          idempotencyKey: `run-${i}/audit/1`,
          workflowId: `wf-${i}`,
          type: 'run.completed',
          actor: { kind: 'system', id: 'warden' },
        },
      ]),
    );
    const receipts = (await Promise.all(jobs)).flat();
    const stats = await store.writerStats();
    expect(stats.records).toBe(600);
    expect(stats.transactions).toBeLessThan(300);
    const seqs = receipts.map((r) => r.record!.seq).sort((a, b) => a - b);
    expect(seqs).toEqual([...Array(600).keys()].map((k) => k + 1));
    // Each caller's records stay together and in order.
    for (let i = 0; i < receipts.length; i += 2)
      expect(receipts[i + 1]!.record!.seq).toBe(receipts[i]!.record!.seq + 1);
    await store.close();
  });

  it('upgrades a ledger from before chained checkpoints, keeping its records and setting old checkpoints aside', async () => {
    const file = path.join(root, 'old', 'audit.db');
    fs.mkdirSync(path.dirname(file));
    const db = new Database(file);
    db.exec(`CREATE TABLE audit_checkpoints (seq INTEGER PRIMARY KEY, leaf_hash TEXT NOT NULL, ts TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL);
             INSERT INTO audit_checkpoints VALUES (1, 'x', 't', 'k', 's');`);
    db.close();
    expect(() => SqliteAuditStore.open({ file, create: false })).toThrow(/written by an older Warden/);
    const store = SqliteAuditStore.open({ file });
    expect(await store.checkpoints()).toEqual([]);
    await store.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT count(*) FROM audit_checkpoints_v1').pluck().get()).toBe(1);
    check.close();
  });
});
