import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AuditLedger,
  PUBLIC_KEY_FILE,
  SIGNING_KEY_FILE,
  openAuditStore,
  openCheckpointSigner,
  readPublicKeyFiles,
  verifyStore,
} from '../../src/audit';
import { loadConfig } from '../../src/config';
import { ConfigError, UserError } from '../../src/errors';
import { signerScript } from './signer-script';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-audit-keys-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const fresh = () => fs.mkdtempSync(path.join(root, 'd-'));

function writeKey(file: string, mode = 0o600): void {
  fs.writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode });
  fs.chmodSync(file, mode);
}

describe('audit signing key', () => {
  it('is generated once (0600) in the keys dir, outside the data dir, with its public key published beside it', () => {
    const dataDir = fresh();
    const keysDir = `${dataDir}-keys`;
    const a = openCheckpointSigner({ dataDir, keysDir });
    expect(fs.statSync(path.join(keysDir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual([]);
    const b = openCheckpointSigner({ dataDir, keysDir });
    expect(b.keyId).toBe(a.keyId);
    expect(a.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
    const [pub] = readPublicKeyFiles([path.join(keysDir, PUBLIC_KEY_FILE)]);
    expect(pub!.equals(a.publicKey)).toBe(true);
  });

  it('refuses a key file group or others can read, saying how to fix it', () => {
    const dataDir = fresh();
    const keyFile = path.join(root, 'ops.key');
    writeKey(keyFile, 0o640);
    const open = () => openCheckpointSigner({ dataDir, keysDir: `${dataDir}-keys`, keyFile });
    expect(open).toThrow(ConfigError);
    expect(open).toThrow(
      `WARDEN_AUDIT_SIGNING_KEY_FILE: ${keyFile} is readable by group or others (mode 640): run chmod 600 ${keyFile}`,
    );
    fs.chmodSync(keyFile, 0o600);
    expect(open().keyId).toMatch(/^ed25519:/);
    expect(fs.existsSync(path.join(`${dataDir}-keys`, PUBLIC_KEY_FILE))).toBe(true);
  });

  it('refuses a key inside the data dir, a missing key and a key that is not Ed25519', () => {
    const dataDir = fresh();
    const inside = path.join(dataDir, 'audit.key');
    writeKey(inside);
    expect(() => openCheckpointSigner({ dataDir, keysDir: `${dataDir}-keys`, keyFile: inside })).toThrow(
      /is inside the data dir .*; keep the signing key outside it/,
    );
    expect(() => openCheckpointSigner({ dataDir, keysDir: path.join(dataDir, 'keys') })).toThrow(
      /WARDEN_AUDIT_KEYS_DIR: .* is inside the data dir/,
    );
    expect(() =>
      openCheckpointSigner({ dataDir, keysDir: `${dataDir}-keys`, keyFile: path.join(root, 'missing.key') }),
    ).toThrow(/WARDEN_AUDIT_SIGNING_KEY_FILE: cannot read .*missing\.key \(ENOENT\)/);
    const rsa = path.join(root, 'rsa.key');
    fs.writeFileSync(
      rsa,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
      { mode: 0o600 },
    );
    expect(() => openCheckpointSigner({ dataDir, keysDir: `${dataDir}-keys`, keyFile: rsa })).toThrow(
      /must be an Ed25519 private key, not rsa/,
    );
  });

  it('warns about a signing key left in the data dir by an older Warden', () => {
    const dataDir = fresh();
    writeKey(path.join(dataDir, SIGNING_KEY_FILE));
    const warnings: string[] = [];
    openCheckpointSigner({ dataDir, keysDir: `${dataDir}-keys`, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/audit-signing\.key is no longer used/)]);
  });
});

describe('external signer command', () => {
  it('needs the public key of the key it signs with', () => {
    expect(() => openCheckpointSigner({ keysDir: fresh(), command: 'true' })).toThrow(
      /WARDEN_AUDIT_SIGNER_COMMAND needs WARDEN_AUDIT_SIGNER_PUBLIC_KEY/,
    );
  });

  it('signs every checkpoint through the command, which alone holds the key; the ledger verifies', async () => {
    const dataDir = fresh();
    const s = signerScript(root);
    const config = loadConfig({
      WARDEN_DATA_DIR: dataDir,
      WARDEN_AUDIT_SIGNER_COMMAND: s.command,
      WARDEN_AUDIT_SIGNER_PUBLIC_KEY: s.publicKeyFile,
      WARDEN_AUDIT_CHECKPOINT_EVERY: '3',
    });
    const ledger = await AuditLedger.open(config);
    expect(ledger.signer.description).toMatch(/signer command/);
    for (let i = 0; i < 7; i++) {
      await ledger.append({
        idempotencyKey: `r/${i}`,
        workflowId: 'w',
        type: 'run.started',
        actor: { kind: 'system', id: 'warden' },
      });
    }
    await ledger.close();
    expect(s.calls()).toBe(3); // at 3, 6, and the last record on close
    const store = await openAuditStore(config, { create: false });
    expect(await verifyStore(store, readPublicKeyFiles([s.publicKeyFile]))).toMatchObject({ ok: true, checkpoints: 3 });
    await store.close();
    expect(fs.readdirSync(dataDir).filter((f) => f.includes('key'))).toEqual([]);
  });

  it('never stores a signature that does not verify, and never fails an append because the signer does', async () => {
    const dataDir = fresh();
    const liar = signerScript(root, { lie: true });
    const config = loadConfig({
      WARDEN_DATA_DIR: dataDir,
      WARDEN_AUDIT_SIGNER_COMMAND: liar.command,
      WARDEN_AUDIT_SIGNER_PUBLIC_KEY: liar.publicKeyFile,
      WARDEN_AUDIT_CHECKPOINT_EVERY: '2',
    });
    const warnings: string[] = [];
    const ledger = await AuditLedger.open(config, { warn: (_o, m) => warnings.push(m) });
    for (let i = 0; i < 4; i++) {
      await ledger.append({
        idempotencyKey: `r/${i}`,
        workflowId: 'w',
        type: 'run.started',
        actor: { kind: 'system', id: 'warden' },
      });
    }
    await expect(ledger.checkpoint()).rejects.toThrow(/does not verify with key ed25519:/);
    await ledger.close();
    expect(warnings[0]).toMatch(/audit checkpoint not signed \(retrying in \d+ ms\): .*does not verify/);
    const store = await openAuditStore(config, { create: false });
    expect(await store.checkpoints()).toEqual([]);
    expect((await store.list()).length).toBe(4);
    await store.close();
  });
});

describe('audit configuration', () => {
  it('defaults to SQLite in the data dir, keys and witness beside it, with documented checkpoint settings', async () => {
    const dataDir = fresh();
    const config = loadConfig({ WARDEN_DATA_DIR: dataDir });
    expect(config.audit).toEqual({
      databaseUrl: undefined,
      sqliteFile: path.join(dataDir, 'audit.db'),
      signingKeyFile: undefined,
      signerCommand: undefined,
      signerPublicKeyFile: undefined,
      keysDir: `${dataDir}-keys`,
      witnessDir: `${dataDir}-witness`,
      publicKeyFiles: [],
      checkpointEvery: 100,
      checkpointIntervalMs: 60_000,
      hecToken: undefined,
    });
    expect(loadConfig({ WARDEN_DATA_DIR: `${dataDir}/`, WARDEN_AUDIT_WITNESS_DIR: 'off' }).audit).toMatchObject({
      keysDir: `${dataDir}-keys`,
      witnessDir: undefined,
    });
    await expect(openAuditStore(config, { create: false })).rejects.toThrow(UserError);
    await expect(openAuditStore(config, { create: false })).rejects.toThrow(
      /no audit ledger at .*audit\.db: nothing has been recorded yet/,
    );
    const ledger = await AuditLedger.open(config);
    expect(ledger.store.kind).toBe('sqlite');
    await ledger.append({
      idempotencyKey: 'r/0',
      workflowId: 'w',
      type: 'run.started',
      actor: { kind: 'human', id: 'ops' },
    });
    expect(await ledger.verify()).toMatchObject({ ok: true, checked: 1 });
    await ledger.close();
    expect(fs.existsSync(path.join(`${dataDir}-keys`, SIGNING_KEY_FILE))).toBe(true);
    expect(fs.readdirSync(`${dataDir}-witness`)).toEqual([expect.stringMatching(/^checkpoints-.*\.ndjson$/)]);
    expect(fs.readdirSync(dataDir).some((f) => f.includes('key'))).toBe(false);
  });

  it('never echoes the database URL or the HEC token, in a config error or a connection error', async () => {
    let err: unknown;
    try {
      loadConfig({ WARDEN_AUDIT_DATABASE_URL: 'mysql://u:hunter2@db/x', WARDEN_AUDIT_CHECKPOINT_EVERY: '0' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toHaveLength(2);
    expect((err as Error).message).toMatch(/WARDEN_AUDIT_DATABASE_URL=\(hidden\): must be a postgres/);
    expect((err as Error).message).not.toContain('hunter2');

    const config = loadConfig({
      WARDEN_AUDIT_DATABASE_URL: 'postgres://warden:hunter2@127.0.0.1:1/audit',
      WARDEN_HEC_TOKEN: 'tok',
    });
    expect(config.audit.hecToken).toBe('tok');
    const failure = (await openAuditStore(config).catch((e: unknown) => e)) as Error;
    expect(failure).toBeInstanceOf(UserError);
    expect(failure.message).toMatch(
      /cannot open the audit ledger in postgres:\/\/127\.0\.0\.1:1\/audit \(ECONNREFUSED.*check WARDEN_AUDIT_DATABASE_URL/,
    );
    expect(failure.message).not.toContain('hunter2');
  });
});
