import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { PostgresAuditStore, readWitness } from '../../src/audit';
import { RECORD_COLUMNS, checkpointValues } from '../../src/audit/store';
import type { TestPostgres } from '../harness/postgres';
import { startPostgres } from '../harness/postgres';
import { NEEDS_WITNESS } from './tamper-mutations';
import type { Writer } from './tamper-stores';
import { MUTATIONS, attackAll, buildGenuine, root } from './tamper-stores';

// The tamper suite (see tamper-stores.ts) against a real PostgreSQL database, written through its own SQL.
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('audit ledger tamper suite against a real PostgreSQL database', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it(`detects ${MUTATIONS} seeded attacks with --public-key and --witness`, async () => {
    const url = await pg.freshDatabase();
    const witnessDir = path.join(root, 'pg-witness');
    const genuine = await buildGenuine(() => PostgresAuditStore.open({ connectionString: url }), witnessDir);
    const witness = readWitness([witnessDir]);
    const client = new Client({ connectionString: url });
    await client.connect();
    const write: Writer = async (s) => {
      await client.query('BEGIN');
      await client.query('DELETE FROM audit_records; DELETE FROM audit_checkpoints');
      const cols = (rows: unknown[][], i: number) => rows.map((r) => r[i]);
      await client.query(
        `INSERT INTO audit_records (${RECORD_COLUMNS}) SELECT * FROM unnest($1::bigint[], ${Array.from({ length: 12 }, (_, i) => `$${i + 2}::text[]`).join(', ')})`,
        Array.from({ length: 13 }, (_, i) => cols(s.records, i)),
      );
      const cps = s.checkpoints.map(checkpointValues);
      await client.query(
        'INSERT INTO audit_checkpoints SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])',
        Array.from({ length: 6 }, (_, i) => cols(cps, i)),
      );
      await client.query('COMMIT');
    };
    const store = await PostgresAuditStore.open({ connectionString: url, create: false });
    try {
      // The command on PostgreSQL for the attacks only a witness reveals, and a few more.
      const kinds = new Set([...NEEDS_WITNESS, 'edit-rechain', 'truncate', 'other-key-rewrite']);
      await attackAll(store, write, genuine, witness, Number(process.env.WARDEN_TAMPER_SEED ?? 0x9e5eed), {
        env: { WARDEN_DATA_DIR: path.join(root, 'pg-data'), WARDEN_AUDIT_DATABASE_URL: url },
        witnessDir,
        kinds,
      });
    } finally {
      await store.close();
      await client.end();
    }
  }, 900_000);
});
