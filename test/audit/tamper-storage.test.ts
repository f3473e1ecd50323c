import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { AuditRecord } from '../../src/audit';
import type { VerifyStoreOptions } from '../../src/audit';
import { LedgerVerifier, SqliteAuditStore, verifyStore } from '../../src/audit';
import { rowLeafHash } from '../../src/audit/threads/row-hash';
import { verifyRanges } from '../../src/audit/verify-store';
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

/** The single-reader path, and range threads (3 of them on this 40-record ledger) that join their ranges. */
const MODES: [string, VerifyStoreOptions][] = [
  ['one reader', { threads: 0 }],
  ['range threads', { threads: 3, minRowsPerThread: 4 }],
];

describe.each(MODES)('audit ledger tamper suite (SQL against the SQLite file), %s', (_mode, opts) => {
  it('verifies the genuine file', async () => {
    const store = SqliteAuditStore.open({ file: pristineFile, create: false });
    await expect(verifyStore(store, [signer.publicKey], opts)).resolves.toMatchObject({ ok: true, checked: N });
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
        const result = await verifyStore(store, [signer.publicKey], opts);
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

describe('range threads (verifyRanges)', () => {
  const verifier = () => new LedgerVerifier(checkpoints, [signer.publicKey]);

  it('accept the genuine rows up to the newest checkpoint, read in ranges joined end to end', async () => {
    for (const threads of [1, 2, 3, 7]) {
      const v = verifier();
      await verifyRanges(v, pristineFile, N, { threads, minRows: 1 });
      expect(v.position).toMatchObject({ seq: maxCheckpoint, leafHash: records[maxCheckpoint - 1]!.leafHash });
    }
  });

  it('accept nothing when any range is off: the one-reader path then names the record', async () => {
    const attacks: [string, string, unknown[]][] = [
      ['a record edited at a range boundary', "UPDATE audit_records SET actor_id = 'mallory' WHERE seq = ?", [21]],
      ['a record deleted inside a range', 'DELETE FROM audit_records WHERE seq = ?', [7]],
      // Rehashing the rest of a range keeps each range sound on its own; the join or the pin catches it.
      [
        'the first record rewritten with a fresh chain',
        'UPDATE audit_records SET prev_hash = ? WHERE seq = ?',
        [hex(), 1],
      ],
    ];
    for (const [what, sql, args] of attacks) {
      const file = path.join(root, `ranges-${what.length}.db`);
      fs.copyFileSync(pristineFile, file);
      const db = new Database(file);
      db.prepare(sql).run(...args);
      db.close();
      const v = verifier();
      await verifyRanges(v, file, N, { threads: 2, minRows: 1 });
      expect({ what, seq: v.position.seq }).toEqual({ what, seq: 0 });
    }
  });

  it('join ranges rehashed by a forger only where every pin agrees', async () => {
    // A forger rewrites record 12 and rehashes the chain from there to the end: every range is internally
    // consistent, but the leaf hashes at the pinned seqs no longer match the signed checkpoints.
    const file = path.join(root, 'ranges-rehashed.db');
    fs.copyFileSync(pristineFile, file);
    const db = new Database(file);
    const rows = db.prepare(`SELECT ${COLS} FROM audit_records ORDER BY seq`).raw().all() as unknown[][];
    let prev = rows[10]![12] as string;
    const update = db.prepare('UPDATE audit_records SET actor_id = ?, prev_hash = ?, leaf_hash = ? WHERE seq = ?');
    for (const row of rows.slice(11)) {
      const edited = [...row];
      if (edited[0] === 12) edited[7] = 'mallory';
      edited[11] = prev;
      const leaf = rowLeafHash(edited)!;
      update.run(edited[7], edited[11], leaf, edited[0]);
      prev = leaf;
    }
    db.close();
    const v = verifier();
    await verifyRanges(v, file, N, { threads: 3, minRows: 1 });
    expect(v.position.seq).toBe(0);
    // Both paths then name the first pinned record that disagrees with its checkpoint (15: one every 5).
    const store = SqliteAuditStore.open({ file, create: false });
    try {
      const ranged = await verifyStore(store, [signer.publicKey], { threads: 3, minRowsPerThread: 4 });
      expect(ranged).toMatchObject({ ok: false, firstBadSeq: 15 });
      expect(ranged).toEqual(await verifyStore(store, [signer.publicKey], { threads: 0 }));
    } finally {
      await store.close();
    }
  });
});
