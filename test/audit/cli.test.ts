import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { AppendInput } from '../../src/audit';
import { AuditLedger, PUBLIC_KEY_FILE, SqliteAuditStore, openCheckpointSigner, verifyStore } from '../../src/audit';
import { ROOT, runCli } from '../harness/cli';

// End to end: the real `warden` binary (dist/, built by `npm test` before jest) against ledgers on disk.
const TOKEN = 'hec-secret-5b1d0c9e-never-print-me';
let dir: string;

/** The public key of a private key file, as openssl prints it (PEM). */
function spawnSyncPub(keyFile: string): string {
  return spawnSync('openssl', ['pkey', '-in', keyFile, '-pubout'], { encoding: 'utf8' }).stdout;
}
let env: Record<string, string>;

function freshDataDir(): string {
  return fs.mkdtempSync(path.join(dir, 'data-'));
}

function input(i: number): AppendInput {
  return {
    idempotencyKey: `run-${i % 2}/audit/${i}`,
    workflowId: i % 2 ? 'alert-edr-1' : 'alert-edr-2',
    runId: `run-${i % 2}`,
    type: i === 1 ? 'run.started' : i % 3 ? 'policy.decision' : 'approval.granted',
    actor: i % 3 ? { kind: 'system', id: 'warden' } : { kind: 'human', id: 'alice' },
    data: i % 3 ? { decision: 'allow', tool: 'lookup_ip', reason: 'read-only tool' } : { approvalId: `a${i}`, tier: 2 },
  };
}

/** What `warden dev` would leave: a ledger, its keys dir and its witness beside (not inside) the data dir. */
async function seedLedger(dataDir: string, n: number, from = 1): Promise<void> {
  const signer = openCheckpointSigner({ dataDir, keysDir: `${dataDir}-keys` });
  const store = SqliteAuditStore.open({ file: path.join(dataDir, 'audit.db') });
  const ledger = new AuditLedger({
    store,
    signer,
    checkpointEvery: 10,
    checkpointIntervalMs: 0,
    witnessDir: `${dataDir}-witness`,
  });
  for (let i = from; i < from + n; i++) await ledger.append(input(i));
  await ledger.close();
}

/** Appends records without any checkpoint (a ledger nobody signs). */
async function appendUnsigned(dataDir: string, from: number, n: number): Promise<void> {
  const store = SqliteAuditStore.open({ file: path.join(dataDir, 'audit.db') });
  for (let i = from; i < from + n; i++) await store.append(input(i));
  await store.close();
}

const pubOf = (dataDir: string) => path.join(`${dataDir}-keys`, PUBLIC_KEY_FILE);

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
  env = { WARDEN_DATA_DIR: dataDir, WARDEN_AUDIT_PUBLIC_KEYS: pubOf(dataDir) };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('warden audit (real binary)', () => {
  it('verify passes on a clean ledger, checking the witness beside the data dir', async () => {
    const r = await runCli(['audit', 'verify', '--public-key', pubOf(env.WARDEN_DATA_DIR!)], {
      WARDEN_DATA_DIR: env.WARDEN_DATA_DIR!,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^ledger OK: 30 records, 4 checkpoints \(newest at seq 30, 2\d{3}-.*Z, ed25519:[0-9a-f]{16}\)$/,
    );
    expect(lines[2]).toBe(`witness: 4 checkpoints in ${env.WARDEN_DATA_DIR!}-witness match the ledger`);
  });

  it('verify refuses to run without a public key given out of band, saying where this machine publishes its own', async () => {
    const r = await runCli(['audit', 'verify'], { WARDEN_DATA_DIR: env.WARDEN_DATA_DIR! });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `warden: audit verify needs the public key that signs the checkpoints, obtained out of band: pass --public-key FILE (repeatable) or set WARDEN_AUDIT_PUBLIC_KEYS (this machine publishes its signing key at ${pubOf(env.WARDEN_DATA_DIR!)})`,
    ]);
  });

  it('verify fails after a direct SQL UPDATE, naming the record', async () => {
    const dataDir = freshDataDir();
    await seedLedger(dataDir, 25);
    const db = new Database(path.join(dataDir, 'audit.db'));
    db.prepare("UPDATE audit_records SET data = json_set(data, '$.decision', 'deny') WHERE seq = 17").run();
    db.close();
    const e = { WARDEN_DATA_DIR: dataDir, WARDEN_AUDIT_PUBLIC_KEYS: pubOf(dataDir) };
    const r = await runCli(['audit', 'verify'], e);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'warden: ledger verification FAILED at seq 17: record 17 was modified: its content does not match its leaf hash',
    );
    const j = await runCli(['audit', 'verify', '--json'], e);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, firstBadSeq: 17, checked: 16 });
  });

  it('verify trusts only the given --public-key, and reports a missing ledger', async () => {
    const other = path.join(dir, 'other.pub');
    fs.writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const r = await runCli(['audit', 'verify', '--public-key', other], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FAILED at seq 1: checkpoint at seq 1 is signed by key ed25519:[0-9a-f]{16}, which is not among the trusted/,
    );
    const none = await runCli(['audit', 'verify'], { ...env, WARDEN_DATA_DIR: path.join(dir, 'nowhere') });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no audit ledger at .*nowhere\/audit\.db/);
    expect(fs.existsSync(path.join(dir, 'nowhere', 'audit.db'))).toBe(false);
  });

  it('verify fails a ledger with no checkpoint, or whose records outrun the newest one, in one line', async () => {
    const unsigned = freshDataDir();
    await appendUnsigned(unsigned, 1, 4);
    openCheckpointSigner({ dataDir: unsigned, keysDir: `${unsigned}-keys` });
    const e = { WARDEN_DATA_DIR: unsigned, WARDEN_AUDIT_PUBLIC_KEYS: pubOf(unsigned) };
    const none = await runCli(['audit', 'verify'], e);
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n')).toEqual([
      'warden: ledger verification FAILED at seq 1: no signed checkpoint covers any of the 4 records: sign one with `warden audit checkpoint` if these records are genuine, and find out why the ledger is not being anchored',
    ]);

    const outrun = freshDataDir();
    await seedLedger(outrun, 10);
    await appendUnsigned(outrun, 11, 12);
    const o = { WARDEN_DATA_DIR: outrun, WARDEN_AUDIT_PUBLIC_KEYS: pubOf(outrun), WARDEN_AUDIT_CHECKPOINT_EVERY: '10' };
    const r = await runCli(['audit', 'verify'], o);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FAILED at seq 11: 12 records \(11\.\.22\) follow the newest signed checkpoint \(seq 10\), more than the 10 allowed/,
    );
    expect((await runCli(['audit', 'verify', '--max-unanchored', '12'], o)).code).toBe(0);
    // Time: those records were written just now; allow nothing and they are already too old.
    const t = await runCli(['audit', 'verify', '--max-unanchored', '100', '--max-unanchored-ms', '1'], o);
    expect(t.stderr).toMatch(/FAILED at seq 11: record 11 has waited \d+ s for a signed checkpoint/);
    // `warden audit checkpoint` anchors them (the operator vouches for them).
    const c = await runCli(['audit', 'checkpoint'], o);
    expect(c.stdout.trim()).toMatch(/^checkpoint at seq 22 signed by ed25519:[0-9a-f]{16}$/);
    expect((await runCli(['audit', 'verify'], o)).code).toBe(0);
  });

  it('verify with the witness detects a rollback of the database to an earlier copy', async () => {
    const dataDir = freshDataDir();
    await seedLedger(dataDir, 20);
    const db = path.join(dataDir, 'audit.db');
    fs.copyFileSync(db, path.join(dir, 'early.db'));
    await seedLedger(dataDir, 15, 21);
    fs.copyFileSync(path.join(dir, 'early.db'), db);
    const e = { WARDEN_DATA_DIR: dataDir, WARDEN_AUDIT_PUBLIC_KEYS: pubOf(dataDir) };
    const r = await runCli(['audit', 'verify'], e);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^warden: ledger verification FAILED at seq 21: the ledger ends at record 20 but a signed checkpoint covers record 35/,
    );
    const blind = await runCli(['audit', 'verify', '--no-witness'], e);
    expect(blind.code).toBe(0);
    expect(blind.stdout).toMatch(/witness: none given: a rollback to an earlier state of the ledger/);
    const elsewhere = await runCli(['audit', 'verify', '--witness', `${dataDir}-witness`], {
      ...e,
      WARDEN_AUDIT_WITNESS_DIR: 'off',
    });
    expect(elsewhere.code).toBe(1);
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

  it('checkpoint signs the head on demand, with the signer command when one is configured', async () => {
    const dataDir = freshDataDir();
    await seedLedger(dataDir, 10);
    await appendUnsigned(dataDir, 11, 3);
    const r = await runCli(['audit', 'checkpoint'], { WARDEN_DATA_DIR: dataDir });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^checkpoint at seq 13 signed by ed25519:[0-9a-f]{16}$/);
    const e = { WARDEN_DATA_DIR: dataDir, WARDEN_AUDIT_PUBLIC_KEYS: pubOf(dataDir) };
    expect((await runCli(['audit', 'verify'], e)).stdout).toMatch(/^ledger OK: 13 records, 3 checkpoints/);

    // The same through an external signer (openssl standing in for a KMS), its key kept elsewhere.
    await appendUnsigned(dataDir, 14, 2);
    const hsm = fs.mkdtempSync(path.join(dir, 'hsm-'));
    const key = path.join(hsm, 'audit.key');
    fs.writeFileSync(key, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    const pub = path.join(hsm, 'audit.pub');
    fs.writeFileSync(pub, spawnSyncPub(key));
    const signer = {
      WARDEN_AUDIT_SIGNER_COMMAND: `f=$(mktemp) && cat > "$f" && openssl pkeyutl -sign -inkey ${key} -rawin -in "$f" | base64 -w0; rm -f "$f"`,
      WARDEN_AUDIT_SIGNER_PUBLIC_KEY: pub,
    };
    const oldPub = fs.readFileSync(pubOf(dataDir), 'utf8');
    const viaCommand = await runCli(['audit', 'checkpoint'], { WARDEN_DATA_DIR: dataDir, ...signer });
    expect(viaCommand.stderr).toBe('');
    expect(viaCommand.stdout.trim()).toMatch(/^checkpoint at seq 15 signed by ed25519:[0-9a-f]{16}$/);
    // Rotated: both keys are needed now, the old one for the first two checkpoints.
    expect((await runCli(['audit', 'verify', '--public-key', pub], e)).stderr).toMatch(/FAILED at seq 1: .*not among/);
    // The new key is published now; the retired one is kept beside it under its key id.
    expect(fs.readFileSync(pubOf(dataDir), 'utf8')).toBe(fs.readFileSync(pub, 'utf8'));
    const retired = fs.readdirSync(`${dataDir}-keys`).filter((f) => /^audit-signing\.[0-9a-f]{16}\.pub$/.test(f));
    expect(retired).toHaveLength(1);
    const retiredPub = path.join(`${dataDir}-keys`, retired[0]!);
    expect(fs.readFileSync(retiredPub, 'utf8')).toBe(oldPub);
    const both = await runCli(['audit', 'verify', '--public-key', retiredPub, '--public-key', pub], e);
    expect(`${both.stdout}${both.stderr}`).toMatch(/^ledger OK: 15 records, 4 checkpoints/);
    await appendUnsigned(dataDir, 16, 1);
    const broken = await runCli(['audit', 'checkpoint'], {
      WARDEN_DATA_DIR: dataDir,
      ...signer,
      WARDEN_AUDIT_SIGNER_COMMAND: 'echo "HSM unreachable" >&2; exit 3',
    });
    expect(broken.code).toBe(1);
    expect(broken.stderr.trim()).toMatch(
      /^warden: no checkpoint signed: .*the audit signer command exited 3: HSM unreachable$/,
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
