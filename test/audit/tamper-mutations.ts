import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import type { AuditCheckpoint } from '../../src/audit';
import { GENESIS_HASH, canonicalJson } from '../../src/audit';
import type { RawRecordRow } from '../../src/audit/threads/row-hash';
import { rowLeafHash } from '../../src/audit/threads/row-hash';
import type { prng } from './ledger-fixture';
import { signWith } from './ledger-fixture';

/** A ledger's tables as an attacker with database write access sees them. */
export interface LedgerState {
  records: RawRecordRow[];
  checkpoints: AuditCheckpoint[];
}

/** What an attacker can do; `keys` are the genuine signing key (stolen) and one of their own. */
export interface AttackContext {
  pristine: LedgerState;
  earlier: LedgerState;
  rnd: ReturnType<typeof prng>;
  stolenKey: KeyObject;
  attackerKey: KeyObject;
}

/** A mutation: its kind, a description, and the tables after it. */
export interface Mutation {
  kind: string;
  detail: string;
  state: LedgerState;
}

/**
 * The kinds a witness is needed for: the result is a ledger that is consistent in itself (an earlier
 * state, or a rewrite re-signed with the real key). docs/audit-ledger.md says exactly this.
 */
export const NEEDS_WITNESS = new Set([
  'rollback',
  'rollback-to-checkpoint',
  'drop-newest-checkpoint',
  'stolen-key-rewrite',
  'wipe',
]);

/**
 * The kinds that always pass without a witness. `drop-newest-checkpoint` is caught without one when more
 * than EVERY records then follow the remaining checkpoints (PostgreSQL seals in batches, so that varies).
 */
export const BLIND_WITHOUT_WITNESS = new Set(['rollback', 'rollback-to-checkpoint', 'stolen-key-rewrite', 'wipe']);

const hex = () => randomBytes(32).toString('hex');
const clone = (s: LedgerState): LedgerState => ({
  records: s.records.map((r) => [...r]),
  checkpoints: s.checkpoints.map((c) => ({ ...c })),
});

/** Recomputes prevHash (and seq, when `renumber`) and leafHash of every row from `from` (0-based). */
function rechain(rows: RawRecordRow[], from: number, renumber: boolean): void {
  for (let i = Math.max(0, from); i < rows.length; i++) {
    const r = rows[i]!;
    if (renumber) r[0] = i + 1;
    r[11] = i ? rows[i - 1]![12] : GENESIS_HASH;
    r[12] = rowLeafHash(r);
  }
}

/** Signs checkpoints at the same seqs over (rewritten) rows: what someone holding `key` can do. */
function resign(rows: RawRecordRow[], seqs: number[], key: KeyObject): AuditCheckpoint[] {
  const out: AuditCheckpoint[] = [];
  for (const seq of seqs.filter((s) => s <= rows.length)) {
    const r = rows[seq - 1]!;
    out.push(signWith(key, { seq, leafHash: r[12] as string }, out[out.length - 1], r[1] as string));
  }
  return out;
}

/**
 * Edits a random record, re-chains everything after it (cutting the tail off now and then, when
 * `mayCut`) and re-signs a checkpoint at every seq the genuine ledger had one, with `key`.
 */
function rewrite(
  pristine: LedgerState,
  rnd: AttackContext['rnd'],
  key: KeyObject,
  note: string,
  mayCut: boolean,
): { state: LedgerState; from: number; cut: number } {
  const s = clone(pristine);
  const i = rnd.int(0, s.records.length - 1);
  editData(s.records[i]!, note);
  const cut = mayCut && rnd.next() < 0.3 ? rnd.int(i + 1, s.records.length) : s.records.length;
  s.records = s.records.slice(0, cut);
  rechain(s.records, i, false);
  s.checkpoints = resign(
    s.records,
    pristine.checkpoints.map((c) => c.seq),
    key,
  );
  return { state: s, from: i + 1, cut };
}

function editData(row: RawRecordRow, note: string): void {
  const data = JSON.parse(row[8] as string) as Record<string, unknown>;
  row[8] = canonicalJson({ ...data, decision: 'allow', tamperedBy: note });
}

const COLUMN_EDITS: [string, (r: RawRecordRow) => void][] = [
  ['ts', (r) => (r[1] = '2030-01-01T00:00:00.000Z')],
  ['idempotency_key', (r) => (r[2] = `${String(r[2])}-replayed`)],
  ['workflow_id', (r) => (r[3] = `${String(r[3])}-x`)],
  ['run_id', (r) => (r[4] = r[4] === null ? 'run-evil' : null)],
  ['type', (r) => (r[5] = r[5] === 'approval.granted' ? 'approval.refused' : 'approval.granted')],
  ['actor_kind', (r) => (r[6] = r[6] === 'human' ? 'agent' : 'human')],
  ['actor_id', (r) => (r[7] = 'mallory')],
  ['data', (r) => editData(r, 'edit')],
  ['data (not JSON)', (r) => (r[8] = 'garbage')],
  ['trace_id', (r) => (r[9] = r[9] === null ? 'a'.repeat(32) : null)],
  ['prev_hash', (r) => (r[11] = hex())],
  ['leaf_hash', (r) => (r[12] = hex())],
];

type Generator = (c: AttackContext) => Mutation;

/** Every attack, by kind. Each returns tables that respect the schema's keys (seq, idempotency key, prev). */
export const ATTACKS: Record<string, Generator> = {
  'edit-column': ({ pristine, rnd }) => {
    const s = clone(pristine);
    const i = rnd.int(0, s.records.length - 1);
    const [what, edit] = rnd.pick(COLUMN_EDITS);
    edit(s.records[i]!);
    return { kind: 'edit-column', detail: `UPDATE ${what} of record ${i + 1}`, state: s };
  },
  'edit-rechain': ({ pristine, rnd }) => {
    const s = clone(pristine);
    const i = rnd.int(0, s.records.length - 1);
    editData(s.records[i]!, 'rechain');
    rechain(s.records, i, false);
    return {
      kind: 'edit-rechain',
      detail: `edit record ${i + 1}, re-hash it and re-chain every later record`,
      state: s,
    };
  },
  'delete-record': ({ pristine, rnd }) => {
    const s = clone(pristine);
    const i = rnd.int(0, s.records.length - 2);
    s.records.splice(i, 1);
    const renumber = rnd.next() < 0.5;
    if (renumber) rechain(s.records, i, true);
    return {
      kind: 'delete-record',
      detail: `DELETE record ${i + 1}${renumber ? ', renumber and re-chain' : ''}`,
      state: s,
    };
  },
  'insert-forged': ({ pristine, rnd }) => {
    const s = clone(pristine);
    const i = rnd.int(0, s.records.length - 1);
    const forged = [...s.records[i]!];
    forged[2] = `forged/${i}`;
    editData(forged, 'forged');
    s.records.splice(i, 0, forged);
    rechain(s.records, i, true);
    return { kind: 'insert-forged', detail: `INSERT a forged record at ${i + 1}, renumber and re-chain`, state: s };
  },
  reorder: ({ pristine, rnd }) => {
    const s = clone(pristine);
    const i = rnd.int(0, s.records.length - 2);
    const j = rnd.int(i + 1, s.records.length - 1);
    const [a, b] = [s.records[i]!, s.records[j]!];
    [s.records[i], s.records[j]] = [
      [a[0], ...b.slice(1)],
      [b[0], ...a.slice(1)],
    ];
    const fix = rnd.next() < 0.5;
    if (fix) rechain(s.records, i, true);
    return { kind: 'reorder', detail: `swap records ${i + 1} and ${j + 1}${fix ? ', re-chained' : ''}`, state: s };
  },
  truncate: ({ pristine, rnd }) => {
    const s = clone(pristine);
    const keep = rnd.int(0, s.records.length - 1);
    s.records = s.records.slice(0, keep);
    return { kind: 'truncate', detail: `DELETE every record after ${keep}`, state: s };
  },
  'rollback-to-checkpoint': ({ pristine, rnd }) => {
    const s = clone(pristine);
    const cp = rnd.pick(s.checkpoints.slice(0, -1));
    s.records = s.records.slice(0, cp.seq + rnd.int(0, 3));
    s.checkpoints = s.checkpoints.filter((c) => c.seq <= cp.seq);
    return {
      kind: 'rollback-to-checkpoint',
      detail: `cut records and checkpoints back to checkpoint ${cp.seq}`,
      state: s,
    };
  },
  rollback: ({ earlier }) => ({
    kind: 'rollback',
    detail: 'restore an earlier copy of the database',
    state: clone(earlier),
  }),
  wipe: () => ({ kind: 'wipe', detail: 'DELETE every record and checkpoint', state: { records: [], checkpoints: [] } }),
  'delete-checkpoint': ({ pristine, rnd }) => {
    const s = clone(pristine);
    const i = rnd.int(0, s.checkpoints.length - 2);
    const seq = s.checkpoints[i]!.seq;
    s.checkpoints.splice(i, 1);
    return { kind: 'delete-checkpoint', detail: `DELETE the checkpoint at ${seq}`, state: s };
  },
  'drop-newest-checkpoint': ({ pristine }) => {
    const s = clone(pristine);
    const gone = s.checkpoints.pop()!;
    return { kind: 'drop-newest-checkpoint', detail: `DELETE the newest checkpoint (${gone.seq})`, state: s };
  },
  'edit-checkpoint': ({ pristine, rnd }) => {
    const s = clone(pristine);
    const cp = rnd.pick(s.checkpoints);
    const field = rnd.pick(['leafHash', 'ts', 'signature', 'prevCheckpoint', 'keyId'] as const);
    if (field === 'ts') cp.ts = '2031-01-01T00:00:00.000Z';
    else if (field === 'signature') cp.signature = randomBytes(64).toString('base64');
    else if (field === 'keyId') cp.keyId = 'ed25519:0000000000000000';
    else cp[field] = hex();
    return { kind: 'edit-checkpoint', detail: `UPDATE ${field} of the checkpoint at ${cp.seq}`, state: s };
  },
  'reorder-checkpoints': ({ pristine, rnd }) => {
    const s = clone(pristine);
    const i = rnd.int(0, s.checkpoints.length - 2);
    const [a, b] = [s.checkpoints[i]!, s.checkpoints[i + 1]!];
    s.checkpoints[i] = { ...b, seq: a.seq, leafHash: s.records[a.seq - 1]![12] as string };
    s.checkpoints[i + 1] = { ...a, seq: b.seq, leafHash: s.records[b.seq - 1]![12] as string };
    return { kind: 'reorder-checkpoints', detail: `swap the checkpoints at ${a.seq} and ${b.seq}`, state: s };
  },
  'forged-checkpoint': ({ pristine, rnd, attackerKey }) => {
    const s = clone(pristine);
    const taken = new Set(s.checkpoints.map((c) => c.seq));
    const free = s.records.map((r) => r[0] as number).filter((q) => !taken.has(q));
    const seq = rnd.pick(free);
    const forged = signWith(attackerKey, { seq, leafHash: s.records[seq - 1]![12] as string }, undefined);
    s.checkpoints.push({ ...forged, prevCheckpoint: hex() });
    s.checkpoints.sort((x, y) => x.seq - y.seq);
    return { kind: 'forged-checkpoint', detail: `INSERT a checkpoint at ${seq} signed by another key`, state: s };
  },
  'other-key-rewrite': ({ pristine, rnd, attackerKey }) => {
    const { state, from } = rewrite(pristine, rnd, attackerKey, 'resigned', false);
    return {
      kind: 'other-key-rewrite',
      detail: `rewrite from ${from}, re-sign every checkpoint with another key`,
      state,
    };
  },
  'stolen-key-rewrite': ({ pristine, rnd, stolenKey }) => {
    const { state, from, cut } = rewrite(pristine, rnd, stolenKey, 'stolen', true);
    return {
      kind: 'stolen-key-rewrite',
      detail: `rewrite from ${from}${cut < pristine.records.length ? `, cut at ${cut}` : ''}, re-sign with the stolen key`,
      state,
    };
  },
};
