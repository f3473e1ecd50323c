import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { codecFromConfig } from '../../src/codec/codec-keys';
import { loadConfig } from '../../src/config';
import { runCli } from '../harness/cli';

describe('warden codec-key and codec-server (CLI, real binary)', () => {
  it('rotate adds a new active key to the key file and keeps the old one, so old payloads still decode', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-codec-cli-'));
    const file = path.join(dir, 'codec-keys.json');
    const env = { WARDEN_DATA_DIR: dir, WARDEN_CODEC_KEY_FILE: file };

    const first = await runCli(['codec-key', 'rotate'], env);
    expect(first.code).toBe(0);
    const firstId = /active codec key is now (ck-[0-9a-f]{16})/.exec(first.stdout)?.[1];
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const before = codecFromConfig(loadConfig(env))!;
    const [old] = await before.encode([defaultPayloadConverter.toPayload('written before rotation')]);

    const second = await runCli(['codec-key', 'rotate'], env);
    const secondId = /active codec key is now (ck-[0-9a-f]{16})/.exec(second.stdout)?.[1];
    expect(secondId).toBeDefined();
    expect(secondId).not.toBe(firstId);

    const ls = await runCli(['codec-key', 'ls', '--json'], env);
    expect(JSON.parse(ls.stdout)).toEqual([
      { id: secondId, active: true, createdAt: expect.any(String) },
      { id: firstId, active: false, createdAt: expect.any(String) },
    ]);
    expect(ls.stdout + ls.stderr).not.toMatch(/"key"/);

    const after = codecFromConfig(loadConfig(env))!;
    expect(after.activeKeyId).toBe(secondId);
    expect(defaultPayloadConverter.fromPayload((await after.decode([old!]))[0]!)).toBe('written before rotation');
  });

  it('codec-server refuses to start without a codec key and says how to configure one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-codec-cli-'));
    const res = await runCli(['codec-server'], { WARDEN_DATA_DIR: dir });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/no payload codec key is configured — set WARDEN_CODEC_KEY_FILE/);
    const missing = await runCli(['codec-key', 'ls'], {
      WARDEN_DATA_DIR: dir,
      WARDEN_CODEC_KEY_FILE: `${dir}/nope.json`,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /WARDEN_CODEC_KEY_FILE=.*nope\.json: file not found — create it with `warden codec-key rotate`/,
    );
  });
});
