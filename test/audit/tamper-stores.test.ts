import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import type { AuditStore, VerifyResult, WitnessEntry } from '../../src/audit';
import { AuditLedger, PostgresAuditStore, SqliteAuditStore, readWitness, verifyStore } from '../../src/audit';
import { RECORD_COLUMNS, checkpointValues, rawToRow, rowToRecord } from '../../src/audit/store';
import type { TestPostgres } from '../harness/postgres';
import { startPostgres } from '../harness/postgres';
import { firstDifference, fixtureInput, prng, testKey } from './ledger-fixture';
import type { LedgerState, Mutation } from './tamper-mutations';
import { ATTACKS, BLIND_WITHOUT_WITNESS, NEEDS_WITNESS } from './tamper-mutations';

// Attacks by someone with write access to the database (not to the witness, and not to the signing key
// except where a kind says "stolen key"), against real SQLite and PostgreSQL ledgers written by
// AuditLedger. Every one must fail `audit verify --public-key <key> --witness <dir>`; without the
// witness, only the kinds docs/audit-ledger.md lists as needing it may pass.
const MUTATIONS = Number(process.env.WARDEN_TAMPER_MUTATIONS ?? 1000);
const EVERY = 8;
const key = testKey();
const attacker = testKey();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-tamper-stores-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Writes a whole ledger state into the tables, as an attacker with write access can. */
type Writer = (s: LedgerState) => Promise<void>;

async function readState(store: AuditStore): Promise<LedgerState> {
  const snap = await store.snapshot();
  try {
    const records = [];
    for await (const rows of snap.rows()) records.push(...rows.map((r) => [Number(r[0]), ...r.slice(1)]));
    return { records, checkpoints: snap.checkpoints };
  } finally {
    await snap.close();
  }
}

/** Builds the genuine ledger through AuditLedger: 40 records (the "earlier" copy), then 24 more. */
async function buildGenuine(open: () => Promise<AuditStore>, witnessDir: string) {
  const states: LedgerState[] = [];
  for (const [from, n] of [
    [1, 40],
    [41, 24],
  ] as const) {
    const store = await open();
    const ledger = new AuditLedger({
      store,
      signer: key.signer,
      checkpointEvery: EVERY,
      checkpointIntervalMs: 0,
      witnessDir,
    });
    for (let i = from; i < from + n; i += 4) {
      await ledger.appendMany([0, 1, 2, 3].map((k) => fixtureInput(i + k)));
    }
    await ledger.close();
    const reader = await open();
    states.push(await readState(reader));
    await reader.close();
  }
  return { earlier: states[0]!, pristine: states[1]! };
}

const asRecords = (s: LedgerState) => s.records.map((r) => rowToRecord(rawToRow(r)));
const EXACT = new Set(['edit-column', 'truncate']);

async function attackAll(
  store: AuditStore,
  write: Writer,
  genuine: { earlier: LedgerState; pristine: LedgerState },
  witness: WitnessEntry[],
  seed: number,
) {
  const verify = (withWitness: boolean): Promise<VerifyResult> =>
    verifyStore(store, [key.signer.publicKey], {
      ...(withWitness ? { witness } : {}),
      freshness: { maxRecords: EVERY, maxAgeMs: 0 },
    });
  await write(genuine.pristine);
  expect(await verify(true)).toMatchObject({ ok: true, checked: 64, witnessed: genuine.pristine.checkpoints.length });

  const rnd = prng(seed);
  const kinds = Object.keys(ATTACKS);
  const missed: string[] = [];
  const inexact: string[] = [];
  const blind: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (let n = 0; n < MUTATIONS; n++) {
    const m: Mutation = ATTACKS[kinds[n % kinds.length]!]!({
      ...genuine,
      rnd,
      stolenKey: key.privateKey,
      attackerKey: attacker.privateKey,
    });
    counts[m.kind] = (counts[m.kind] ?? 0) + 1;
    await write(m.state);
    const withWitness = await verify(true);
    if (withWitness.ok) missed.push(`#${n} ${m.detail}`);
    const expected = firstDifference(asRecords(genuine.pristine), asRecords(m.state));
    if (EXACT.has(m.kind) && withWitness.firstBadSeq !== expected) {
      inexact.push(`#${n} ${m.detail}: expected first bad seq ${String(expected)}, got ${JSON.stringify(withWitness)}`);
    }
    if ((await verify(false)).ok) blind[m.kind] = (blind[m.kind] ?? 0) + 1;
  }
  expect(missed).toEqual([]);
  expect(inexact).toEqual([]);
  // Without the witness, only a ledger consistent in itself (earlier, or re-signed with the real key) passes.
  expect(Object.keys(blind).filter((k) => !NEEDS_WITNESS.has(k))).toEqual([]);
  expect([...BLIND_WITHOUT_WITNESS].filter((k) => !blind[k])).toEqual([]);
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(MUTATIONS);
  return { counts, blind };
}

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
      );
    } finally {
      await store.close();
      db.close();
    }
  }, 600_000);
});

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
      await attackAll(store, write, genuine, witness, Number(process.env.WARDEN_TAMPER_SEED ?? 0x9e5eed));
    } finally {
      await store.close();
      await client.end();
    }
  }, 900_000);
});
