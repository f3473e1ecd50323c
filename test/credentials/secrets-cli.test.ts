import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../harness/cli';

const CANARY = 'canary-cli-9d41e2-do-not-print';

describe('warden secrets (CLI, real binary)', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-secrets-cli-'));
    env = { WARDEN_DATA_DIR: dir };
  });
  const files = () =>
    fs
      .readdirSync(dir)
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');

  it('sets a secret from standard input, generates the master key, and stores only ciphertext', async () => {
    const set = await runCli(['secrets', 'set', 'edr.api_token'], env, `${CANARY}\n`);
    expect(set).toMatchObject({ code: 0 });
    expect(set.stdout).toMatch(/stored "edr.api_token" in the vault \(master key mk-[0-9a-f]{16}\)/);
    expect(set.stderr).toMatch(/generated the vault master key .*master.key \(0600\)/);
    expect(fs.statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'vault.json')).mode & 0o777).toBe(0o600);
    expect(files()).not.toContain(CANARY);
    expect(set.stdout + set.stderr).not.toContain(CANARY);
  });

  it('ls lists names, backends and times but never a value — from the vault or the environment', async () => {
    await runCli(['secrets', 'set', 'edr.api_token'], env, CANARY);
    const valueFile = path.join(dir, 'intel.txt');
    fs.writeFileSync(valueFile, 'intel-value-0000\n');
    expect((await runCli(['secrets', 'set', 'intel.api_token', '--value-file', valueFile], env)).code).toBe(0);
    const withEnv = { ...env, WARDEN_SECRET_TICKETS_API_TOKEN: 'env-value-1111' };

    const ls = await runCli(['secrets', 'ls'], withEnv);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^NAME\s+BACKEND\s+UPDATEDAT/);
    expect(ls.stdout).toMatch(/edr\.api_token\s+vault\s+\d{4}-\d\d-\d\dT/);
    expect(ls.stdout).toMatch(/intel\.api_token\s+vault/);
    expect(ls.stdout).toMatch(/tickets_api_token\s+env/);
    const json = await runCli(['secrets', 'ls', '--json'], withEnv);
    expect((JSON.parse(json.stdout) as { name: string }[]).map((r) => r.name)).toEqual([
      'edr.api_token',
      'intel.api_token',
      'tickets_api_token',
    ]);
    for (const out of [ls.stdout, ls.stderr, json.stdout, json.stderr]) {
      expect(out).not.toContain(CANARY);
      expect(out).not.toContain('intel-value-0000');
      expect(out).not.toContain('env-value-1111');
    }
  });

  it('refuses a value given on the command line, and an empty value', async () => {
    const res = await runCli(['secrets', 'set', 'edr.api_token', CANARY], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/never pass a secret value as an argument .* stdin or use --value-file/);
    expect(fs.existsSync(path.join(dir, 'vault.json'))).toBe(false);
    const empty = await runCli(['secrets', 'set', 'edr.api_token'], env, '');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/empty value/);
  });

  it('rm deletes, and says what to do for unknown or environment-only names', async () => {
    await runCli(['secrets', 'set', 'edr.api_token'], env, CANARY);
    expect(await runCli(['secrets', 'rm', 'edr.api_token'], env)).toMatchObject({ code: 0 });
    expect((await runCli(['secrets', 'ls'], env)).stdout.trim()).toBe('(none)');
    const missing = await runCli(['secrets', 'rm', 'edr.api_token'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no secret named "edr.api_token"/);
    const envOnly = await runCli(['secrets', 'rm', 'x'], { ...env, WARDEN_SECRET_X: 'v' });
    expect(envOnly.stderr).toMatch(/unset WARDEN_SECRET_X/);
  });

  it('rotate-key re-encrypts under a new key and every secret stays readable', async () => {
    await runCli(['secrets', 'set', 'a'], env, `${CANARY}-a`);
    await runCli(['secrets', 'set', 'b'], env, `${CANARY}-b`);
    const before = fs.readFileSync(path.join(dir, 'vault.json'), 'utf8');
    const rot = await runCli(['secrets', 'rotate-key'], env);
    expect(rot.code).toBe(0);
    const newId = /under the new master key (mk-[0-9a-f]{16})/.exec(rot.stdout)?.[1];
    expect(newId).toBeDefined();
    const after = JSON.parse(fs.readFileSync(path.join(dir, 'vault.json'), 'utf8')) as {
      secrets: Record<string, { keyId: string }>;
    };
    expect(Object.values(after.secrets).map((s) => s.keyId)).toEqual([newId, newId]);
    expect(JSON.stringify(after)).not.toBe(before);
    // Still readable: a new value set afterwards sits next to the re-encrypted ones under one key.
    const { createSecretStore } = await import('../../src/credentials/from-config');
    const { loadConfig } = await import('../../src/config');
    const { store } = createSecretStore(loadConfig(env), {});
    expect(await store.get('a')).toBe(`${CANARY}-a`);
    expect(await store.get('b')).toBe(`${CANARY}-b`);
  });

  it('with a wrong master key, fails with a clear message and exit code 1', async () => {
    await runCli(['secrets', 'set', 'a'], env, CANARY);
    const wrong = { ...env, WARDEN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
    const rot = await runCli(['secrets', 'rotate-key'], wrong);
    expect(rot.code).toBe(1);
    expect(rot.stderr).toMatch(/secret "a" is encrypted under master key mk-\w+, which is not configured/);
    expect(rot.stderr).not.toContain(CANARY);
  });
});
