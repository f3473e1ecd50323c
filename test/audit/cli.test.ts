import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AuditLedger, SqliteAuditStore, loadOrCreateSigningKey, verifyStore } from '../../src/audit';
import { ROOT, runCli } from '../harness/cli';

// End to end: the real `warden` binary (dist/, built by `npm test` before jest) against ledgers on disk.
const TOKEN = 'hec-secret-5b1d0c9e-never-print-me';
let dir: string;
let env: Record<string, string>;

function freshDataDir(): string {
  return fs.mkdtempSync(path.join(dir, 'data-'));
}

async function seedLedger(dataDir: string, n: number): Promise<void> {
  const signer = loadOrCreateSigningKey({ dataDir });
  const store = SqliteAuditStore.open({ file: path.join(dataDir, 'audit.db') });
  const ledger = new AuditLedger({ store, signer, checkpointEvery: 10, checkpointIntervalMs: 0 });
  for (let i = 1; i <= n; i++) {
    await ledger.append({
      idempotencyKey: `run-${i % 2}/audit/${i}`,
      workflowId: i % 2 ? 'alert-edr-1' : 'alert-edr-2',
      runId: `run-${i % 2}`,
      type: i === 1 ? 'run.started' : i % 3 ? 'policy.decision' : 'approval.granted',
      actor: i % 3 ? { kind: 'system', id: 'warden' } : { kind: 'human', id: 'alice' },
      data:
        i % 3 ? { decision: 'allow', tool: 'lookup_ip', reason: 'read-only tool' } : { approvalId: `a${i}`, tier: 2 },
    });
  }
  await ledger.close();
}

async function hecServer(status = 200) {
  const seen: { auth?: string; lines: number }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({
        ...(req.headers.authorization ? { auth: req.headers.authorization } : {}),
        lines: body.split('\n').length,
      });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { text: 'Success', code: 0 } : { text: 'Invalid token', code: 4 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-audit-cli-'));
  const dataDir = path.join(dir, 'main');
  await seedLedger(dataDir, 30);
  env = { WARDEN_DATA_DIR: dataDir };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('warden audit (real binary)', () => {
  it('verify passes on a clean ledger', async () => {
    const r = await runCli(['audit', 'verify'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('ledger OK: 30 records, 3 checkpoints');
  });

  it('verify fails after a direct SQL UPDATE, naming the record', async () => {
    const dataDir = freshDataDir();
    await seedLedger(dataDir, 25);
    const db = new Database(path.join(dataDir, 'audit.db'));
    db.prepare("UPDATE audit_records SET data = json_set(data, '$.decision', 'deny') WHERE seq = 17").run();
    db.close();
    const r = await runCli(['audit', 'verify'], { WARDEN_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'warden: ledger verification FAILED at seq 17: record 17 was modified: its content does not match its leaf hash',
    );
    const j = await runCli(['audit', 'verify', '--json'], { WARDEN_DATA_DIR: dataDir });
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, firstBadSeq: 17, checked: 16 });
  });

  it('verify trusts only the given --public-key, and reports a missing ledger', async () => {
    const other = path.join(dir, 'other.pub');
    fs.writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const r = await runCli(['audit', 'verify', '--public-key', other], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FAILED at seq 10: checkpoint at seq 10 is signed by key ed25519:[0-9a-f]{16}, which is not among the trusted/,
    );
    const ok = await runCli(
      ['audit', 'verify', '--public-key', path.join(env.WARDEN_DATA_DIR!, 'audit-signing.pub')],
      env,
    );
    expect(ok.code).toBe(0);
    const none = await runCli(['audit', 'verify'], { WARDEN_DATA_DIR: path.join(dir, 'nowhere') });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no audit ledger at .*nowhere\/audit\.db/);
    expect(fs.existsSync(path.join(dir, 'nowhere', 'audit.db'))).toBe(false);
  });

  it('show prints a run as a timeline', async () => {
    const r = await runCli(['audit', 'show', 'alert-edr-1'], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+SEQ\s+ACTOR\s+TYPE\s+SUMMARY$/);
    expect(lines).toHaveLength(16);
    expect(lines[1]).toMatch(/^2\d{3}-.*Z\s+1\s+system:warden\s+run\.started/);
    expect(r.stdout).toMatch(/\s3\s+human:alice\s+approval\.granted\s+tier=2 approvalId=a3\n/);
    const none = await runCli(['audit', 'show', 'no-such-run'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no audit records for workflow "no-such-run"/);
  });

  it('export writes OCSF NDJSON to stdout and ECS to a file from a seq', async () => {
    const r = await runCli(['audit', 'export', '--format', 'ocsf'], env);
    expect(r.code).toBe(0);
    const events = r.stdout
      .trimEnd()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            class_uid: number;
            metadata: { sequence: number };
            unmapped: { warden: { leaf_hash: string } };
          },
      );
    expect(events).toHaveLength(30);
    expect(events.every((e) => e.class_uid === 6003 && /^[0-9a-f]{64}$/.test(e.unmapped.warden.leaf_hash))).toBe(true);
    expect(events.map((e) => e.metadata.sequence)).toEqual([...Array(30).keys()].map((k) => k + 1));
    const out = path.join(dir, 'ecs.ndjson');
    const f = await runCli(['audit', 'export', '--format', 'ecs', '--out', out, '--from-seq', '25'], env);
    expect(f.code).toBe(0);
    expect(f.stdout.trim()).toBe(`exported 6 ECS events to ${out}`);
    const lines = fs
      .readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { warden: { seq: number } });
    expect(lines.map((l) => l.warden.seq)).toEqual([25, 26, 27, 28, 29, 30]);
    expect((await runCli(['audit', 'export', '--format', 'csv'], env)).stderr).toMatch(/--format takes ocsf or ecs/);
  });

  it('export posts to Splunk HEC with the token from the environment or a file, never printing it', async () => {
    const hec = await hecServer();
    try {
      const r = await runCli(['audit', 'export', '--format', 'ocsf', '--hec-url', hec.url], {
        ...env,
        WARDEN_HEC_TOKEN: TOKEN,
      });
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`sent 30 OCSF events to ${hec.url}/services/collector/event in 1 batches`);
      expect(hec.seen).toEqual([{ auth: `Splunk ${TOKEN}`, lines: 30 }]);
      const tokenFile = path.join(dir, 'hec.token');
      fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      const f = await runCli(
        [
          'audit',
          'export',
          '--format',
          'ecs',
          '--hec-url',
          hec.url,
          '--hec-token-file',
          tokenFile,
          '--hec-batch-size',
          '8',
        ],
        env,
      );
      expect(f.code).toBe(0);
      expect(hec.seen.slice(1).map((s) => s.lines)).toEqual([8, 8, 8, 6]);
      expect(hec.seen.every((s) => s.auth === `Splunk ${TOKEN}`)).toBe(true);
      for (const out of [r.stdout, r.stderr, f.stdout, f.stderr]) expect(out).not.toContain(TOKEN);
    } finally {
      await hec.close();
    }
  });

  it('accepts --hec-token with a warning, and on refusal names what to check, never the token', async () => {
    const hec = await hecServer(403);
    try {
      const r = await runCli(['audit', 'export', '--format', 'ocsf', '--hec-url', hec.url, '--hec-token', TOKEN], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/warning: --hec-token is visible to other users \(ps, shell history\)/);
      expect(r.stderr).toMatch(
        /refused a batch \(HTTP 403, HEC code 4: Invalid token\): check the HEC token.*0 events were sent: resume with --from-seq 1/,
      );
      expect(`${r.stdout}${r.stderr}`).not.toContain(TOKEN);
      const missing = await runCli(['audit', 'export', '--format', 'ocsf', '--hec-url', hec.url], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/needs a HEC token: set WARDEN_HEC_TOKEN or pass --hec-token-file/);
    } finally {
      await hec.close();
    }
  });

  it('checkpoint signs the head on demand', async () => {
    const dataDir = freshDataDir();
    await seedLedger(dataDir, 13);
    const r = await runCli(['audit', 'checkpoint'], { WARDEN_DATA_DIR: dataDir });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^checkpoint at seq 13 signed by ed25519:[0-9a-f]{16}$/);
    expect((await runCli(['audit', 'verify'], { WARDEN_DATA_DIR: dataDir })).stdout).toMatch(
      /^ledger OK: 13 records, 2 checkpoints/,
    );
  });

  it('four processes appending to one SQLite ledger at once keep one chain without gaps or duplicates', async () => {
    const file = path.join(freshDataDir(), 'audit.db');
    const script = `
      const { SqliteAuditStore } = require(${JSON.stringify(path.join(ROOT, 'dist', 'audit'))});
      (async () => {
        const store = SqliteAuditStore.open({ file: process.argv[1] });
        const id = process.argv[2];
        // Start together: each process says it is ready, then waits for all four (on a loaded machine
        // start-up alone can take seconds, and the processes would otherwise run one after another).
        const fs = require('node:fs');
        const barrier = process.argv[3];
        fs.writeFileSync(barrier + '/ready-' + id, '');
        while (fs.readdirSync(barrier).length < 4) await new Promise((r) => setTimeout(r, 5));
        for (let i = 0; i < 50; i++) {
          await new Promise((r) => setTimeout(r, 1));
          await store.append({ idempotencyKey: 'p' + id + '/' + i, workflowId: 'wf-' + id, type: 'tool.executed', actor: { kind: 'system', id: 'worker-' + id }, data: { i } });
          // every process also "retries" the same shared records, as re-run activities would
          if (i % 5 === 0) await store.append({ idempotencyKey: 'shared/' + i, workflowId: 'wf-shared', type: 'interrupt', actor: { kind: 'system', id: 'worker-' + id } });
        }
        await store.close();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const barrier = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-barrier-'));
    const codes = await Promise.all(
      [1, 2, 3, 4].map(
        (id) =>
          new Promise<number | null>((resolve) => {
            const child = spawn(process.execPath, ['-e', script, file, String(id), barrier], {
              stdio: ['ignore', 'ignore', 'inherit'],
            });
            child.on('close', resolve);
          }),
      ),
    );
    expect(codes).toEqual([0, 0, 0, 0]);
    const store = SqliteAuditStore.open({ file, create: false });
    const all = await store.list({ limit: 1000 });
    expect(all.map((r) => r.seq)).toEqual([...Array(210).keys()].map((k) => k + 1));
    expect(new Set(all.map((r) => r.idempotencyKey)).size).toBe(210);
    expect(await verifyStore(store, [])).toMatchObject({ ok: true, checked: 210 });
    // The writers really interleaved (otherwise this proves nothing about the lock).
    const switches = all.filter((r, i) => i > 0 && r.actor.id !== all[i - 1]!.actor.id).length;
    expect(switches).toBeGreaterThan(3);
    await store.close();
  });
});
