import type { AuditCheckpoint, AuditRecord, WitnessEntry } from '../../src/audit';
import { GENESIS_HASH, checkpointHash, leafHashOf, verifyLedger } from '../../src/audit';
import { buildLedger, signChain, signWith, testKey } from './ledger-fixture';

// What the checkpoint chain, the witness and the freshness rule add to the record chain (in memory; the
// same attacks against real SQLite and PostgreSQL databases are in tamper-stores.test.ts).
const key = testKey();
const keys = [key.signer.publicKey];
const N = 48;
const { records, checkpoints } = buildLedger(N, 8, key.privateKey); // checkpoints at 8, 16, ..., 48
const witness: WitnessEntry[] = checkpoints.map((c, i) => ({ checkpoint: c, where: `witness:${i + 1}` }));

/** Every record after `from` rewritten (data of `from` changed), re-chained: what someone with write access can do. */
function rewriteFrom(from: number): AuditRecord[] {
  const out = structuredClone(records);
  for (let i = from - 1; i < out.length; i++) {
    const r = out[i]!;
    if (i === from - 1) r.data = { ...r.data, decision: 'allow', rewritten: true };
    r.prevHash = i ? out[i - 1]!.leafHash : GENESIS_HASH;
    r.leafHash = leafHashOf(r);
  }
  return out;
}

describe('checkpoint chain', () => {
  it('links each checkpoint to the hash of the one before, the first to the genesis hash', () => {
    expect(checkpoints[0]!.prevCheckpoint).toBe(GENESIS_HASH);
    for (let i = 1; i < checkpoints.length; i++) {
      expect(checkpoints[i]!.prevCheckpoint).toBe(checkpointHash(checkpoints[i - 1]!));
    }
    expect(verifyLedger(records, checkpoints, keys, { witness })).toMatchObject({ ok: true, witnessed: 6 });
  });

  it('detects a deleted checkpoint in the middle, at the next checkpoint, without a witness', () => {
    const cps = checkpoints.filter((c) => c.seq !== 24);
    expect(verifyLedger(records, cps, keys)).toMatchObject({
      ok: false,
      firstBadSeq: 32,
      reason: expect.stringMatching(/checkpoint at seq 32 does not link to the checkpoint at seq 16/),
    });
  });

  it('detects checkpoints reordered or re-linked, and a forged extra checkpoint signed by another key', () => {
    const swapped = checkpoints.map((c, i) => (i === 2 ? { ...c, prevCheckpoint: checkpoints[0]!.prevCheckpoint } : c));
    expect(verifyLedger(records, swapped, keys)).toMatchObject({ ok: false, firstBadSeq: 24 });
    const mallory = testKey();
    const extra = [...checkpoints, signWith(mallory.privateKey, records[N - 1]!, checkpoints[5])];
    expect(verifyLedger(records, extra.slice(0, 7), keys)).toMatchObject({ ok: false, firstBadSeq: 48 });
  });

  it('detects a whole chain re-signed with another key', () => {
    const forged = rewriteFrom(20);
    const mallory = testKey();
    const resigned = signChain(mallory.privateKey, forged, [8, 16, 24, 32, 40, 48]);
    expect(verifyLedger(forged, resigned, keys)).toMatchObject({
      ok: false,
      firstBadSeq: 8,
      reason: expect.stringMatching(/not among the trusted public keys/),
    });
  });
});

describe('witness', () => {
  it('cannot see a rewrite re-signed with the real key without it, and names the first rewritten checkpoint with it', () => {
    const forged = rewriteFrom(20);
    const resigned = signChain(key.privateKey, forged, [8, 16, 24, 32, 40, 48]);
    expect(verifyLedger(forged, resigned, keys)).toMatchObject({ ok: true });
    expect(verifyLedger(forged, resigned, keys, { witness })).toMatchObject({
      ok: false,
      firstBadSeq: 24,
    });
  });

  it('detects a rollback to an earlier consistent state, which nothing else can', () => {
    const earlier = records.slice(0, 30);
    const cps = checkpoints.filter((c) => c.seq <= 30);
    expect(verifyLedger(earlier, cps, keys)).toMatchObject({ ok: true });
    expect(verifyLedger(earlier, cps, keys, { witness })).toMatchObject({
      ok: false,
      firstBadSeq: 31,
      reason: expect.stringMatching(/ledger ends at record 30 but a signed checkpoint covers record 48/),
    });
  });

  it('detects the newest checkpoints deleted while the records stay', () => {
    const cps = checkpoints.filter((c) => c.seq <= 32);
    expect(verifyLedger(records, cps, keys)).toMatchObject({ ok: true });
    expect(verifyLedger(records, cps, keys, { witness })).toMatchObject({
      ok: false,
      firstBadSeq: 40,
      reason: expect.stringMatching(
        /witness \(witness:5\) holds a signed checkpoint at seq 40 that the ledger does not have/,
      ),
    });
  });

  it('reports a witness entry that is forged, altered or not a checkpoint', () => {
    const mallory = testKey();
    const bad: WitnessEntry[][] = [
      [{ checkpoint: signWith(mallory.privateKey, records[9]!, undefined), where: 'w:1' }],
      [{ checkpoint: { ...checkpoints[1]!, leafHash: records[3]!.leafHash }, where: 'w:1' }],
      [{ checkpoint: 'not json', where: 'w:1' }],
    ];
    for (const w of bad) expect(verifyLedger(records, checkpoints, keys, { witness: w })).toMatchObject({ ok: false });
  });

  it('accepts a witness that holds only some checkpoints (a crash between commit and witness write)', () => {
    expect(verifyLedger(records, checkpoints, keys, { witness: witness.filter((_, i) => i % 2) })).toMatchObject({
      ok: true,
      witnessed: 3,
    });
  });
});

describe('freshness', () => {
  const now = new Date(Date.parse(records[N - 1]!.ts) + 1000);
  const cps = (upTo: number): AuditCheckpoint[] => checkpoints.filter((c) => c.seq <= upTo);

  it('fails a non-empty ledger with no checkpoint at all', () => {
    expect(verifyLedger(records, [], keys, { freshness: { maxRecords: 100, maxAgeMs: 0, now } })).toMatchObject({
      ok: false,
      firstBadSeq: 1,
      reason: expect.stringMatching(/no signed checkpoint covers any of the 48 records/),
    });
    expect(verifyLedger([], [], keys, { freshness: { maxRecords: 1, maxAgeMs: 1, now } })).toMatchObject({ ok: true });
  });

  it('fails when more records than allowed follow the newest checkpoint, or one waited too long', () => {
    expect(verifyLedger(records, cps(32), keys, { freshness: { maxRecords: 16, maxAgeMs: 0, now } })).toMatchObject({
      ok: true,
    });
    expect(verifyLedger(records, cps(24), keys, { freshness: { maxRecords: 16, maxAgeMs: 0, now } })).toMatchObject({
      ok: false,
      firstBadSeq: 25,
      reason: expect.stringMatching(/24 records \(25\.\.48\) follow the newest signed checkpoint \(seq 24\)/),
    });
    // Records are one second apart and `now` is a second after record 48: record 41 has waited 8 s.
    expect(
      verifyLedger(records, cps(40), keys, { freshness: { maxRecords: 100, maxAgeMs: 10_000, now } }),
    ).toMatchObject({
      ok: true,
    });
    expect(
      verifyLedger(records, cps(40), keys, { freshness: { maxRecords: 100, maxAgeMs: 7_000, now } }),
    ).toMatchObject({ ok: false, firstBadSeq: 41, reason: expect.stringMatching(/record 41 has waited 8 s/) });
  });
});
