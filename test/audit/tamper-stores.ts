import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditStore, VerifyResult, WitnessEntry } from '../../src/audit';
import { AuditLedger, verifyStore } from '../../src/audit';
import { rawToRow, rowToRecord } from '../../src/audit/store';
import { runCli } from '../harness/cli';
import { firstDifference, fixtureInput, prng, testKey } from './ledger-fixture';
import type { LedgerState, Mutation } from './tamper-mutations';
import { ATTACKS, BLIND_WITHOUT_WITNESS, NEEDS_WITNESS } from './tamper-mutations';

// Attacks by someone with write access to the database (not to the witness, and not to the signing key
// except where a kind says "stolen key"), against real SQLite and PostgreSQL ledgers written by
// AuditLedger. Every one must fail verification with the public key and the witness (verifyStore, as
// `warden audit verify --public-key <key> --witness <dir>` runs it; the real command checks the first
// attack of each kind too); without the witness, only the kinds docs/audit-ledger.md lists as needing it
// may pass.
// Shared by tamper-sqlite.test.ts and tamper-postgres.test.ts.

/** Mutations per store. */
export const MUTATIONS = Number(process.env.WARDEN_TAMPER_MUTATIONS ?? 1000);
/** Checkpoint every this many records (and the freshness limit verification applies). */
export const EVERY = 8;
const key = testKey();
const attacker = testKey();
/** This test file's scratch directory: remove it in afterAll. */
export const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-tamper-stores-'));

/** Writes a whole ledger state into the tables, as an attacker with write access can. */
export type Writer = (s: LedgerState) => Promise<void>;

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
export async function buildGenuine(open: () => Promise<AuditStore>, witnessDir: string) {
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

/**
 * The real `warden audit verify --public-key --witness`, run on the first attack of each kind in
 * `kinds` (every attack goes through verifyStore, which the command calls, in process).
 */
export interface CliCheck {
  env: Record<string, string>;
  witnessDir: string;
  kinds: ReadonlySet<string>;
}

const publicKeyFile = path.join(root, 'audit.pub');
fs.writeFileSync(publicKeyFile, key.signer.publicKey.export({ type: 'spki', format: 'pem' }));
const cliVerify = (c: CliCheck) =>
  runCli(['audit', 'verify', '--public-key', publicKeyFile, '--witness', c.witnessDir], {
    ...c.env,
    WARDEN_AUDIT_CHECKPOINT_EVERY: String(EVERY),
    WARDEN_AUDIT_CHECKPOINT_INTERVAL_MS: '0',
  });

export async function attackAll(
  store: AuditStore,
  write: Writer,
  genuine: { earlier: LedgerState; pristine: LedgerState },
  witness: WitnessEntry[],
  seed: number,
  cli: CliCheck,
) {
  const verify = (withWitness: boolean): Promise<VerifyResult> =>
    verifyStore(store, [key.signer.publicKey], {
      ...(withWitness ? { witness } : {}),
      freshness: { maxRecords: EVERY, maxAgeMs: 0 },
    });
  await write(genuine.pristine);
  expect(await verify(true)).toMatchObject({ ok: true, checked: 64, witnessed: genuine.pristine.checkpoints.length });
  const clean = await cliVerify(cli);
  expect([clean.code, clean.stderr]).toEqual([0, '']);
  expect(clean.stdout).toMatch(/^ledger OK: 64 records, \d+ checkpoints/);
  const cliMissed: string[] = [];
  const cliChecked = new Set<string>();

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
    if (cli.kinds.has(m.kind) && !cliChecked.has(m.kind)) {
      cliChecked.add(m.kind);
      const r = await cliVerify(cli);
      if (r.code !== 1 || !/^warden: ledger verification FAILED at seq \d+: /.test(r.stderr)) {
        cliMissed.push(`#${n} ${m.detail}: exit ${String(r.code)} ${r.stdout}${r.stderr}`);
      }
    }
  }
  expect(missed).toEqual([]);
  expect(cliMissed).toEqual([]);
  expect([...cli.kinds].filter((k) => !cliChecked.has(k))).toEqual([]);
  expect(inexact).toEqual([]);
  // Without the witness, only a ledger consistent in itself (earlier, or re-signed with the real key) passes.
  expect(Object.keys(blind).filter((k) => !NEEDS_WITNESS.has(k))).toEqual([]);
  expect([...BLIND_WITHOUT_WITNESS].filter((k) => !blind[k])).toEqual([]);
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(MUTATIONS);
  return { counts, blind };
}
