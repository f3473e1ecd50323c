import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKey } from '../../src/credentials/aead';
import { VaultError } from '../../src/credentials/errors';
import { MasterKeyStore } from '../../src/credentials/master-key';
import { EnvSecretBackend, SecretStore, secretEnvVar } from '../../src/credentials/store';
import { FileVault } from '../../src/credentials/vault';

const CANARY = 'canary-5f0c2a9e-very-secret-value';
const b64key = () => generateKey().toString('base64');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'warden-vault-'));
}

function fileVault(dir: string, envKeys?: string): FileVault {
  const keys = new MasterKeyStore({ file: path.join(dir, 'master.key'), ...(envKeys ? { envKeys } : {}) });
  return new FileVault({ file: path.join(dir, 'vault.json'), keys });
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('file vault', () => {
  it('round-trips secrets and generates the master key file with mode 0600 on first set', async () => {
    const dir = tempDir();
    const vault = fileVault(dir);
    expect(fs.existsSync(path.join(dir, 'master.key'))).toBe(false);
    await vault.set('edr.api_token', CANARY);
    await vault.set('intel.api_token', 'other value with ünïcode');
    expect(await vault.get('edr.api_token')).toBe(CANARY);
    expect(await vault.get('intel.api_token')).toBe('other value with ünïcode');
    expect(await vault.get('missing')).toBeUndefined();
    expect(fs.statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'vault.json')).mode & 0o777).toBe(0o600);
    expect((await vault.list()).map((m) => m.name)).toEqual(['edr.api_token', 'intel.api_token']);
    expect(await vault.delete('intel.api_token')).toBe(true);
    expect(await vault.delete('intel.api_token')).toBe(false);
    expect(await vault.has('intel.api_token')).toBe(false);
  });

  it('stores only ciphertext: no plaintext, a fresh nonce per secret, and the key id beside it', async () => {
    const dir = tempDir();
    const vault = fileVault(dir);
    await vault.set('a', CANARY);
    await vault.set('b', CANARY);
    const raw = fs.readFileSync(path.join(dir, 'vault.json'), 'utf8');
    expect(raw).not.toContain(CANARY);
    expect(raw).not.toContain(Buffer.from(CANARY).toString('base64'));
    const doc = JSON.parse(raw) as { secrets: Record<string, { keyId: string; nonce: string; ciphertext: string }> };
    expect(doc.secrets.a!.keyId).toMatch(/^mk-[0-9a-f]{16}$/);
    expect(Buffer.from(doc.secrets.a!.nonce, 'base64')).toHaveLength(12);
    expect(doc.secrets.a!.nonce).not.toBe(doc.secrets.b!.nonce);
    expect(doc.secrets.a!.ciphertext).not.toBe(doc.secrets.b!.ciphertext);
  });

  it('binds each ciphertext to its name: a value moved to another name does not decrypt', async () => {
    const dir = tempDir();
    const vault = fileVault(dir);
    await vault.set('a', CANARY);
    await vault.set('b', 'x');
    const file = path.join(dir, 'vault.json');
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { secrets: Record<string, unknown> };
    doc.secrets.b = doc.secrets.a;
    fs.writeFileSync(file, JSON.stringify(doc));
    const err = await errorOf(vault.get('b'));
    expect(err).toBeInstanceOf(VaultError);
    expect(err.message).toMatch(/secret "b" does not decrypt under master key mk-.*was modified/);
  });

  it('refuses a wrong master key with a message naming the key ids and what to set', async () => {
    const dir = tempDir();
    await fileVault(dir, b64key()).set('edr.api_token', CANARY);
    const err = await errorOf(fileVault(dir, b64key()).get('edr.api_token'));
    expect(err).toBeInstanceOf(VaultError);
    expect(err.message).toMatch(
      /secret "edr.api_token" is encrypted under master key mk-\w+, which is not configured \(configured: mk-\w+\) — set WARDEN_MASTER_KEY/,
    );
    expect(err.message).not.toContain(CANARY);
  });

  it('says how to get a key when there is none, and lists names without one', async () => {
    const dir = tempDir();
    await fileVault(dir).set('x', CANARY);
    fs.rmSync(path.join(dir, 'master.key'));
    const vault = fileVault(dir);
    expect((await vault.list()).map((m) => m.name)).toEqual(['x']);
    expect((await errorOf(vault.get('x'))).message).toMatch(/no vault master key: .* run `warden secrets set`/);
  });

  it('rotate-key re-encrypts every secret under a new key file key and keeps all readable', async () => {
    const dir = tempDir();
    const vault = fileVault(dir);
    const names = ['a', 'b', 'c'];
    for (const n of names) await vault.set(n, `${CANARY}-${n}`);
    const before = JSON.parse(fs.readFileSync(path.join(dir, 'vault.json'), 'utf8')) as {
      secrets: Record<string, { keyId: string; ciphertext: string }>;
    };
    const oldId = before.secrets.a!.keyId;

    const result = await vault.rotateKey();

    expect(result.reencrypted).toBe(3);
    expect(result.keyId).not.toBe(oldId);
    const after = JSON.parse(fs.readFileSync(path.join(dir, 'vault.json'), 'utf8')) as typeof before;
    for (const n of names) {
      expect(after.secrets[n]!.keyId).toBe(result.keyId);
      expect(after.secrets[n]!.ciphertext).not.toBe(before.secrets[n]!.ciphertext);
      expect(await vault.get(n)).toBe(`${CANARY}-${n}`);
      expect(await fileVault(dir).get(n)).toBe(`${CANARY}-${n}`);
    }
    // The old key is gone from the key file once every secret is re-encrypted.
    const keyFile = JSON.parse(fs.readFileSync(path.join(dir, 'master.key'), 'utf8')) as { keys: { id: string }[] };
    expect(keyFile.keys.map((k) => k.id)).toEqual([result.keyId]);
    expect(fs.statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
  });

  it('keeps the old key readable while a rotation is under way', () => {
    const dir = tempDir();
    const keys = new MasterKeyStore({ file: path.join(dir, 'master.key') });
    const first = keys.loadOrCreate().ring;
    const during = keys.beginRotation();
    // Interrupted here: the key file holds both keys, so a vault in either state decrypts.
    const onDisk = new MasterKeyStore({ file: path.join(dir, 'master.key') }).load();
    expect([...onDisk.keys.keys()]).toEqual([during.activeId, first.activeId]);
    keys.finishRotation(during);
    expect([...keys.load().keys.keys()]).toEqual([during.activeId]);
  });

  it('rotates under WARDEN_MASTER_KEY when the new key is put first', async () => {
    const dir = tempDir();
    const oldKey = b64key();
    const newKey = b64key();
    await fileVault(dir, oldKey).set('a', CANARY);
    const unchanged = await fileVault(dir, oldKey).rotateKey();
    expect(unchanged).toMatchObject({ reencrypted: 0, retiredKeyIds: [] });
    const r = await fileVault(dir, `${newKey},${oldKey}`).rotateKey();
    expect(r.reencrypted).toBe(1);
    expect(r.retiredKeyIds).toHaveLength(1);
    expect(await fileVault(dir, newKey).get('a')).toBe(CANARY);
    expect(fs.existsSync(path.join(dir, 'master.key'))).toBe(false);
  });

  it('rejects invalid names and empty values before touching the file', async () => {
    const dir = tempDir();
    const vault = fileVault(dir);
    await expect(vault.set('Bad Name', 'x')).rejects.toThrow(/invalid secret name "Bad Name"/);
    await expect(vault.set('ok', '')).rejects.toThrow(/empty value/);
    expect(fs.existsSync(path.join(dir, 'vault.json'))).toBe(false);
  });
});

describe('secret store and the environment backend', () => {
  it('maps names to WARDEN_SECRET_* variables and is read-only', async () => {
    const env = new EnvSecretBackend({ WARDEN_SECRET_EDR_API_TOKEN: CANARY, OTHER: 'x' });
    expect(secretEnvVar('edr.api_token')).toBe('WARDEN_SECRET_EDR_API_TOKEN');
    expect(await env.get('edr.api_token')).toBe(CANARY);
    expect(await env.get('intel.api_token')).toBeUndefined();
    expect(await env.list()).toEqual([{ name: 'edr_api_token' }]);
    await expect(env.set('edr.api_token')).rejects.toThrow(/unset WARDEN_SECRET_EDR_API_TOKEN|set or unset/);
    await expect(env.delete('edr.api_token')).rejects.toThrow(VaultError);
  });

  it('consults backends in order (environment first), writes to the vault, and marks shadowed copies', async () => {
    const dir = tempDir();
    const vault = fileVault(dir);
    const store = new SecretStore([new EnvSecretBackend({ WARDEN_SECRET_EDR_API_TOKEN: 'from-env' }), vault]);
    const set = await store.set('edr.api_token', 'from-vault');
    expect(set).toEqual({ backend: 'vault', shadowedBy: 'env' });
    await store.set('intel.api_token', 'intel');
    expect(await store.resolve('edr.api_token')).toEqual({ value: 'from-env', backend: 'env' });
    expect(await store.get('intel.api_token')).toBe('intel');
    const listing = await store.list();
    expect(listing).toEqual([
      { name: 'edr.api_token', backend: 'vault', updatedAt: expect.any(String), shadowed: true },
      { name: 'edr_api_token', backend: 'env', shadowed: false },
      { name: 'intel.api_token', backend: 'vault', updatedAt: expect.any(String), shadowed: false },
    ]);
    expect(JSON.stringify(listing)).not.toMatch(/from-env|from-vault/);
    expect(await store.delete('intel.api_token')).toEqual(['vault']);
    await expect(store.delete('nope')).rejects.toThrow(/no secret named "nope"/);
    const envOnly = new SecretStore([new EnvSecretBackend({ WARDEN_SECRET_X: '1' }), vault]);
    await expect(envOnly.delete('x')).rejects.toThrow(/env backend, which is read-only — unset WARDEN_SECRET_X/);
  });
});
