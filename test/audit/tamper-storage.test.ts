import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { AuditRecord } from '../../src/audit';
import { SqliteAuditStore, verifyStore } from '../../src/audit';
import { checkpointValues, recordValues } from '../../src/audit/store';
import { buildLedger, firstDifference, forge, prng, testKey } from './ledger-fixture';

const key = testKey();
const signer = key.signer;
const N = 40;
const EVERY = 5;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-tamper-'));
const pristineFile = path.join(root, 'pristine.db');
const { records, checkpoints } = buildLedger(N, EVERY, key.privateKey);
const maxCheckpoint = Math.max(...checkpoints.map((c) => c.seq));
const COLS =
  'seq, ts, idempotency_key, workflow_id, run_id, type, actor_kind, actor_id, data, trace_id, span_id, prev_hash, leaf_hash';

beforeAll(async () => {
  // The genuine ledger, written through the store's own schema, then closed (WAL folded into the file).
  const store = SqliteAuditStore.open({ file: pristineFile });
  await store.close();
  const db = new Database(pristineFile);
  const insert = db.prepare(
    `INSERT INTO audit_records (${COLS}) VALUES (${COLS.split(',')
      .map(() => '?')
      .join(',')})`,
  );
  db.transaction(() => records.forEach((r) => insert.run(...recordValues(r))))();
  for (const cp of checkpoints)
    db.prepare('INSERT INTO audit_checkpoints VALUES (?, ?, ?, ?, ?, ?)').run(checkpointValues(cp));
  db.close();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

type Rng = ReturnType<typeof prng>;
const hex = () => randomBytes(32).toString('hex');

/** SQL an attacker with write access to the file could run; each returns a description. */
const ATTACKS: Record<string, (db: Database.Database, rnd: Rng) => string> = {
  edit: (db, rnd) => {
    const s = rnd.int(1, N);
    const [what, sql, ...args] = rnd.pick<[string, string, ...unknown[]]>([
      ['data', "UPDATE audit_records SET data = json_set(data, '$.reason', 'nothing to see') WHERE seq = ?"],
      [
        'type',
        "UPDATE audit_records SET type = CASE type WHEN 'approval.granted' THEN 'approval.refused' ELSE 'approval.granted' END WHERE seq = ?",
      ],
      ['actor', "UPDATE audit_records SET actor_id = 'mallory' WHERE seq = ?"],
      ['ts', "UPDATE audit_records SET ts = '2030-01-01T00:00:00.000Z' WHERE seq = ?"],
      ['run_id', "UPDATE audit_records SET run_id = CASE WHEN run_id IS NULL THEN 'run-x' ELSE NULL END WHERE seq = ?"],
      ['prev_hash', 'UPDATE audit_records SET prev_hash = ? WHERE seq = ?', hex()],
      ['leaf_hash', 'UPDATE audit_records SET leaf_hash = ? WHERE seq = ?', hex()],
      ['data (not JSON)', "UPDATE audit_records SET data = 'garbage' WHERE seq = ?"],
    ]);
    db.prepare(sql).run(...args, s);
    return `UPDATE ${what} of record ${s}`;
  },
  delete: (db, rnd) => {
    const s = rnd.int(1, N - 1);
    db.prepare('DELETE FROM audit_records WHERE seq = ?').run(s);
    return `DELETE record ${s}`;
  },
  insert: (db, rnd) => {
    // The primary key forces the forger to renumber everything after the forged record.
    const p = rnd.int(1, N);
    db.prepare('UPDATE audit_records SET seq = seq + 1000000 WHERE seq >= ?').run(p);
    db.prepare('UPDATE audit_records SET seq = seq - 1000000 + 1 WHERE seq >= 1000000').run();
    const f = forge(p, p > 1 ? records[p - 2]!.leafHash : '0'.repeat(64), `sql${p}`);
    db.prepare(
      `INSERT INTO audit_records (${COLS}) VALUES (${COLS.split(',')
        .map(() => '?')
        .join(',')})`,
    ).run(...recordValues(f));
    return `INSERT forged record at ${p}, renumbering the rest`;
  },
  swap: (db, rnd) => {
    const i = rnd.int(1, N - 1);
    const j = rnd.int(i + 1, N);
    const others = COLS.split(', ').slice(1);
    const row = (s: number) =>
      db
        .prepare(`SELECT ${others.join(', ')} FROM audit_records WHERE seq = ?`)
        .raw()
        .get(s) as unknown[];
    const [ri, rj] = [row(i), row(j)];
    const set = db.prepare(`UPDATE audit_records SET ${others.map((c) => `${c} = ?`).join(', ')} WHERE seq = ?`);
    db.prepare("UPDATE audit_records SET idempotency_key = 'tmp' WHERE seq = ?").run(i);
    set.run(...ri, j);
    set.run(...rj, i);
    return `swap records ${i} and ${j}`;
  },
  truncate: (db, rnd) => {
    const keep = rnd.int(0, maxCheckpoint - 1);
    db.prepare('DELETE FROM audit_records WHERE seq > ?').run(keep);
    return `DELETE every record after ${keep}`;
  },
};

describe('audit ledger tamper suite (SQL against the SQLite file)', () => {
  it('verifies the genuine file', async () => {
    const store = SqliteAuditStore.open({ file: pristineFile, create: false });
    await expect(verifyStore(store, [signer.publicKey])).resolves.toMatchObject({ ok: true, checked: N });
    await store.close();
  });

  it('detects 100 seeded random SQL attacks, each at its first bad sequence number', async () => {
    const rnd = prng(Number(process.env.WARDEN_TAMPER_SEED ?? 0xdb_5eed));
    const misses: string[] = [];
    const kinds = Object.keys(ATTACKS);
    for (let n = 0; n < 100; n++) {
      const file = path.join(root, `attack-${n}.db`);
      fs.copyFileSync(pristineFile, file);
      const db = new Database(file);
      const detail = ATTACKS[kinds[n % kinds.length]!]!(db, rnd);
      db.close();
      const store = SqliteAuditStore.open({ file, create: false });
      try {
        const stored: AuditRecord[] = [];
        for await (const b of store.scan()) stored.push(...b);
        const expected = firstDifference(records, stored);
        const result = await verifyStore(store, [signer.publicKey]);
        if (expected === undefined || result.ok || result.firstBadSeq !== expected) {
          misses.push(`#${n} ${detail}: expected ${String(expected)}, got ${JSON.stringify(result)}`);
        }
      } finally {
        await store.close();
        fs.rmSync(file, { force: true });
      }
    }
    expect(misses).toEqual([]);
  });
});
