import { generateKeyPairSync } from 'node:crypto';
import type { AuditRecord } from '../../src/audit';
import {
  canonicalJson,
  checkpointHash,
  checkpointPayload,
  createCheckpointSigner,
  leafHashOf,
  signCheckpoint,
} from '../../src/audit';
import { recordValues } from '../../src/audit/store';
import { checkRows, rowCanonical, rowLeafHash } from '../../src/audit/threads/row-hash';
import { buildLedger, forge, prng } from './ledger-fixture';

// The threads' fast hashing (plain JS, straight from stored columns) must be the RFC 8785 leaf hash
// of hash.ts, byte for byte, or verification and the writer would disagree with the spec.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const threadCheckpoint = require('../../src/audit/threads/checkpoint') as {
  payload(u: object): Buffer;
  checkpointHash(cp: object): string;
  signCheckpoint(signer: unknown, head: object, prev: string, ts: string): Record<string, unknown>;
  syncSigner(spec: object): unknown;
};

const rnd = prng(0xc0ffee);
const ALPHABET = [
  'a',
  'Z',
  '0',
  ' ',
  '"',
  '\\',
  '\n',
  '\u0000',
  '\u001f',
  'é',
  '✓',
  '😀',
  '\ud800',
  '\udfff',
  '/',
  '<',
];
const text = (n: number) => Array.from({ length: rnd.int(0, n) }, () => rnd.pick(ALPHABET)).join('');

function randomRecord(seq: number): AuditRecord {
  const r = forge(seq, '0'.repeat(64), `r${seq}`);
  const out: AuditRecord = {
    ...r,
    idempotencyKey: `k-${text(12)}`,
    workflowId: `wf-${text(20)}`,
    actor: { kind: rnd.pick(['system', 'agent', 'human'] as const), id: `id-${text(10)}` },
    data: {
      [text(5)]: text(30),
      n: rnd.next() * 1e6,
      big: 2 ** 60,
      neg: -rnd.int(0, 1000),
      list: [text(3), null, true, { z: 1, a: [text(2)] }],
      [`${text(3)}key`]: { nested: text(8) },
    },
  };
  if (rnd.next() < 0.5) delete out.runId;
  else out.runId = `run-${text(8)}`;
  if (rnd.next() < 0.5) {
    delete out.traceId;
    delete out.spanId;
  }
  return { ...out, leafHash: leafHashOf(out) };
}

describe('fast row hashing (threads/row-hash.js)', () => {
  it('equals the RFC 8785 leaf hash for records with every kind of field and string', () => {
    for (let i = 1; i <= 500; i++) {
      const r = randomRecord(i);
      const row = recordValues(r);
      expect(rowCanonical(row)).toBe(canonicalJson({ ...r, leafHash: undefined }));
      expect(rowLeafHash(row)).toBe(r.leafHash);
    }
  });

  it('accepts seq as a number, a bigint or digit text (PostgreSQL BIGINT), and nothing else', () => {
    const r = buildLedger(3, 3, generateKeyPairSync('ed25519').privateKey).records[2]!;
    const row = recordValues(r);
    expect(checkRows([row, [3n, ...row.slice(1)], ['3', ...row.slice(1)]])).toEqual(new Uint8Array([1, 1, 1]));
    const bad = [
      ['03', ...row.slice(1)],
      ['3.0', ...row.slice(1)],
      [-3, ...row.slice(1)],
      [null, ...row.slice(1)],
    ];
    expect(checkRows(bad)).toEqual(new Uint8Array([0, 0, 0, 0]));
  });

  it('flags any changed column, a non-string column, and non-canonical data text', () => {
    const r = buildLedger(2, 2, generateKeyPairSync('ed25519').privateKey).records[1]!;
    const row = recordValues(r);
    for (let col = 1; col <= 12; col++) {
      const changed = [...row];
      changed[col] = col === 4 || col === 9 || col === 10 ? null : `${String(row[col])}x`;
      if (changed[col] === row[col]) continue;
      expect(checkRows([changed])[0]).toBe(0);
    }
    expect(checkRows([[...row.slice(0, 8), Buffer.from(String(row[8])), ...row.slice(9)]])[0]).toBe(0);
    const spaced = [...row];
    spaced[8] = JSON.stringify(r.data, null, 1);
    expect(checkRows([spaced])[0]).toBe(0);
  });
});

describe('thread checkpoint signing (threads/checkpoint.js)', () => {
  it('signs the same payload and links with the same hash as checkpoints.ts', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = createCheckpointSigner(privateKey);
    const head = { seq: 42, leafHash: 'ab'.repeat(32) };
    const prev = 'cd'.repeat(32);
    const ts = '2025-06-01T00:00:00.000Z';
    const mine = await signCheckpoint(signer, head, prev, ts);
    const theirs = threadCheckpoint.signCheckpoint(threadCheckpoint.syncSigner(signer.threadSpec()), head, prev, ts);
    expect(theirs).toEqual(mine); // Ed25519 is deterministic
    expect(threadCheckpoint.payload(mine).equals(checkpointPayload(mine))).toBe(true);
    expect(threadCheckpoint.checkpointHash(mine)).toBe(checkpointHash(mine));
  });
});
