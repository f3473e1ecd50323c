import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AuditLedger,
  PUBLIC_KEY_FILE,
  SIGNING_KEY_FILE,
  loadOrCreateSigningKey,
  openAuditStore,
  readPublicKeyFiles,
} from '../../src/audit';
import { loadConfig } from '../../src/config';
import { ConfigError, UserError } from '../../src/errors';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-audit-keys-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const fresh = () => fs.mkdtempSync(path.join(root, 'd-'));

describe('audit signing key', () => {
  it('is generated once (0600) and its public key published for verifiers', () => {
    const dataDir = fresh();
    const a = loadOrCreateSigningKey({ dataDir });
    expect(fs.statSync(path.join(dataDir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    const b = loadOrCreateSigningKey({ dataDir });
    expect(b.keyId).toBe(a.keyId);
    expect(a.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
    const [pub] = readPublicKeyFiles([path.join(dataDir, PUBLIC_KEY_FILE)]);
    expect(pub!.equals(a.publicKey)).toBe(true);
  });

  it('uses a configured key, warns when others can read it, and says what is wrong with a bad one', () => {
    const dataDir = fresh();
    const keyFile = path.join(root, 'ops.key');
    fs.writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o644,
    });
    fs.chmodSync(keyFile, 0o644);
    const warnings: string[] = [];
    const signer = loadOrCreateSigningKey({ dataDir, keyFile, onWarning: (m) => warnings.push(m) });
    expect(fs.existsSync(path.join(dataDir, SIGNING_KEY_FILE))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, PUBLIC_KEY_FILE))).toBe(true);
    expect(warnings).toEqual([expect.stringMatching(/readable by other users \(mode 644\): run chmod 600/)]);
    expect(signer.keyId).toMatch(/^ed25519:/);

    expect(() => loadOrCreateSigningKey({ dataDir, keyFile: path.join(root, 'missing.key') })).toThrow(
      /WARDEN_AUDIT_SIGNING_KEY_FILE: cannot read .*missing\.key \(ENOENT\)/,
    );
    const rsa = path.join(root, 'rsa.key');
    fs.writeFileSync(
      rsa,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    expect(() => loadOrCreateSigningKey({ dataDir, keyFile: rsa })).toThrow(ConfigError);
    expect(() => loadOrCreateSigningKey({ dataDir, keyFile: rsa })).toThrow(/must be an Ed25519 private key, not rsa/);
  });
});

describe('audit configuration', () => {
  it('defaults to SQLite in the data dir with documented checkpoint settings', async () => {
    const dataDir = fresh();
    const config = loadConfig({ WARDEN_DATA_DIR: dataDir });
    expect(config.audit).toEqual({
      databaseUrl: undefined,
      sqliteFile: path.join(dataDir, 'audit.db'),
      signingKeyFile: undefined,
      publicKeyFiles: [],
      checkpointEvery: 100,
      checkpointIntervalMs: 60_000,
      hecToken: undefined,
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
    expect(fs.existsSync(path.join(dataDir, SIGNING_KEY_FILE))).toBe(true);
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
