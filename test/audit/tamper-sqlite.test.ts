import path from 'node:path';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { SqliteAuditStore, readWitness } from '../../src/audit';
import { RECORD_COLUMNS, checkpointValues } from '../../src/audit/store';
import type { LedgerState } from './tamper-mutations';
import { ATTACKS } from './tamper-mutations';
import { MUTATIONS, attackAll, buildGenuine, root } from './tamper-stores';

// The tamper suite (see tamper-stores.ts) against a real SQLite file, written through its own SQL.
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('audit ledger tamper suite against a real SQLite file', () => {
  it(`detects ${MUTATIONS} seeded attacks with --public-key and --witness`, async () => {
    const file = path.join(root, 'sqlite', 'audit.db');
    const witnessDir = path.join(root, 'sqlite-witness');
    const genuine = await buildGenuine(() => Promise.resolve(SqliteAuditStore.open({ file })), witnessDir);
    const witness = readWitness([witnessDir]);
    const db = new Database(file);
    db.pragma('synchronous = OFF');
    const insertRecord = db.prepare(`INSERT INTO audit_records (${RECORD_COLUMNS}) VALUES (${'?, '.repeat(12)}?)`);
    const insertCp = db.prepare('INSERT INTO audit_checkpoints VALUES (?, ?, ?, ?, ?, ?)');
    const write = db.transaction((s: LedgerState) => {
      db.exec('DELETE FROM audit_records; DELETE FROM audit_checkpoints');
      for (const r of s.records) insertRecord.run(r);
      for (const c of s.checkpoints) insertCp.run(checkpointValues(c));
    });
    const store = SqliteAuditStore.open({ file, create: false });
    try {
      await attackAll(
        store,
        (s) => Promise.resolve(write(s)),
        genuine,
        witness,
        Number(process.env.WARDEN_TAMPER_SEED ?? 0x5917e),
        { env: { WARDEN_DATA_DIR: path.dirname(file) }, witnessDir, kinds: new Set(Object.keys(ATTACKS)) },
      );
    } finally {
      await store.close();
      db.close();
    }
  }, 600_000);
});
