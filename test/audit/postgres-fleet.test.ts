import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AuditLedger,
  PostgresAuditStore,
  openCheckpointSigner,
  readPublicKeyFiles,
  readWitness,
  verifyStore,
} from '../../src/audit';
import { ROOT } from '../harness/cli';
import type { TestPostgres } from '../harness/postgres';
import { startPostgres } from '../harness/postgres';

// A fleet: several real worker processes (the built dist/, as `warden worker` runs it) append to one
// PostgreSQL ledger at once, each through its own AuditLedger (intake, sealer, checkpoints, witness),
// one of them killed mid-way. Nothing acknowledged may be lost, nothing duplicated, the chain must not
// fork, and the whole ledger, checkpoints and every process's witness must verify.
const WRITERS = 4;
const PER_WRITER = 150;

const SCRIPT = `
const fs = require('node:fs');
const { AuditLedger, PostgresAuditStore, openCheckpointSigner } = require(${JSON.stringify(path.join(ROOT, 'dist', 'audit'))});
const [url, id, barrier, keyFile, witnessDir, ackFile] = process.argv.slice(1);
(async () => {
  const store = await PostgresAuditStore.open({ connectionString: url, poolSize: 3 });
  const signer = openCheckpointSigner({ keysDir: barrier + '/keys-' + id, keyFile });
  const ledger = new AuditLedger({ store, signer, checkpointEvery: 10, checkpointIntervalMs: 400, witnessDir });
  fs.writeFileSync(barrier + '/ready-' + id, '');
  while (fs.readdirSync(barrier).filter((f) => f.startsWith('ready-')).length < ${WRITERS + 1}) await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < ${PER_WRITER}; ) {
    const n = 1 + (i % 7);
    const batch = [];
    for (let k = 0; k < n && i < ${PER_WRITER}; k++, i++) {
      batch.push({ idempotencyKey: 'p' + id + '/' + i, workflowId: 'wf-' + id, runId: 'run-' + id, type: 'tool.executed', actor: { kind: 'system', id: 'worker-' + id }, data: { i } });
      // Every process also "retries" the same shared records, as re-run activities on other workers would.
      if (i % 10 === 0) batch.push({ idempotencyKey: 'shared/' + i, workflowId: 'wf-shared', type: 'interrupt', actor: { kind: 'system', id: 'warden' }, data: { i } });
    }
    await ledger.appendMany(batch);
    fs.appendFileSync(ackFile, batch.map((b) => b.idempotencyKey).join('\\n') + '\\n');
  }
  await ledger.close();
})().catch((e) => { console.error(e); process.exit(1); });`;

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

describe('PostgreSQL ledger shared by a fleet of worker processes', () => {
  it('seals every acknowledged record exactly once, in one unforked chain, with a crashed member', async () => {
    const url = await pg.freshDatabase();
    await (await PostgresAuditStore.open({ connectionString: url })).close(); // schema, as a deploy would
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-fleet-'));
    const barrier = path.join(dir, 'barrier');
    fs.mkdirSync(barrier);
    const keyFile = path.join(dir, 'fleet.key');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const pubFile = path.join(dir, 'fleet.pub');
    fs.writeFileSync(pubFile, publicKey.export({ type: 'spki', format: 'pem' }));
    const ids = Array.from({ length: WRITERS + 1 }, (_, i) => String(i + 1));
    const witness = (id: string) => path.join(dir, `witness-${id}`);
    const ack = (id: string) => path.join(dir, `ack-${id}`);
    const children = ids.map((id) =>
      spawn(process.execPath, ['-e', SCRIPT, url, id, barrier, keyFile, witness(id), ack(id)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    const stderr = children.map(() => '');
    children.forEach((c, i) => c.stderr.on('data', (d: Buffer) => (stderr[i] += d.toString())));
    const exits = children.map((c) => new Promise<number | null>((resolve) => c.on('close', resolve)));
    // The last one dies hard once it has some records acknowledged (its accepted ones must survive).
    const victim = ids[WRITERS]!;
    for (;;) {
      if (fs.existsSync(ack(victim)) && fs.readFileSync(ack(victim), 'utf8').split('\n').length > 40) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    children[WRITERS]!.kill('SIGKILL');
    const codes = await Promise.all(exits);
    expect({ codes: codes.slice(0, WRITERS), stderr: stderr.slice(0, WRITERS) }).toEqual({
      codes: Array(WRITERS).fill(0),
      stderr: Array(WRITERS).fill(''),
    });

    // What the dead one left in the intake is sealed by the next worker, or (here) by an operator's
    // `warden audit checkpoint`, which also anchors it.
    const store = await PostgresAuditStore.open({ connectionString: url, create: false });
    const signer = openCheckpointSigner({ keysDir: path.join(dir, 'keys-final'), keyFile });
    const ledger = new AuditLedger({
      store,
      signer,
      checkpointEvery: 10,
      checkpointIntervalMs: 0,
      witnessDir: witness('final'),
    });
    try {
      // A record arriving after the fleet stopped: the operator's checkpoint anchors it, so the witness
      // has checkpoints from at least two writers (which fleet member sealed what is up to the lock).
      await ledger.appendMany([
        {
          idempotencyKey: 'operator/late',
          workflowId: 'wf-operator',
          type: 'interrupt',
          actor: { kind: 'system', id: 'warden' },
          data: {},
        },
      ]);
      await ledger.checkpoint();
      const all = await store.list({ limit: 100_000 });
      expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => i + 1));
      expect(new Set(all.map((r) => r.idempotencyKey)).size).toBe(all.length);
      const keys = new Set(all.map((r) => r.idempotencyKey));
      const acknowledged = ids.flatMap((id) => fs.readFileSync(ack(id), 'utf8').split('\n').filter(Boolean));
      expect(acknowledged.filter((k) => !keys.has(k))).toEqual([]);
      for (const id of ids.slice(0, WRITERS)) {
        expect(all.filter((r) => r.workflowId === `wf-${id}`)).toHaveLength(PER_WRITER);
      }
      expect(all.filter((r) => r.workflowId === 'wf-shared')).toHaveLength(PER_WRITER / 10);
      // The writers really interleaved (otherwise this proves nothing about concurrency).
      const switches = all.filter((r, i) => i > 0 && r.actor.id !== all[i - 1]!.actor.id).length;
      expect(switches).toBeGreaterThan(10);
      const witnessEntries = readWitness([...ids, 'final'].map(witness).filter((d) => fs.existsSync(d)));
      expect(new Set(witnessEntries.map((w) => w.where.split(':')[0])).size).toBeGreaterThan(1);
      const result = await verifyStore(store, readPublicKeyFiles([pubFile]), {
        witness: witnessEntries,
        freshness: { maxRecords: 10, maxAgeMs: 60_000 },
      });
      expect(result).toMatchObject({ ok: true, checked: all.length, witnessed: witnessEntries.length });
      expect(result.backlog).toBeUndefined();
    } finally {
      await ledger.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
