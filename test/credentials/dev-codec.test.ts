import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { generateKey } from '../../src/credentials/aead';
import { connectClient } from '../../src/runtime/connection';
import { portInUse } from '../../src/runtime/dev-server';
import { reservedRangePort } from '../harness/ports';
import { ROOT, runCli, isolatedKeysDir } from '../harness/cli';

/** Runs `warden dev` until it is up; resolves with its output so far and a stop function. */
function startDev(env: Record<string, string>): Promise<{ output: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'warden.js'), 'dev'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WARDEN_KEYS_DIR: isolatedKeysDir(), ...env },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const stop = () =>
    new Promise<number | null>((resolve) => {
      child.removeAllListeners('exit');
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => void stop().then(() => reject(new Error(`warden dev did not start:\n${out}`))),
      120_000,
    );
    child.stdout.on('data', () => {
      if (!out.includes('Warden is running.')) return;
      clearTimeout(timer);
      resolve({ output: () => out, stop });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`warden dev exited (${code}) during startup:\n${out}`));
    });
  });
}

describe('warden dev with payload encryption', () => {
  jest.setTimeout(180_000);

  it('generates the master key, starts a loopback codec server and points the Web UI at it', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-dev-codec-'));
    const ports = {
      temporal: await reservedRangePort(),
      ui: await reservedRangePort(),
      http: await reservedRangePort(),
      codec: await reservedRangePort(),
    };
    const env = {
      WARDEN_DATA_DIR: dataDir,
      WARDEN_TEMPORAL_PORT: String(ports.temporal),
      WARDEN_UI_PORT: String(ports.ui),
      WARDEN_HTTP_PORT: String(ports.http),
      WARDEN_CODEC_SERVER_PORT: String(ports.codec),
      WARDEN_CODEC_KEYS: `dev=${generateKey().toString('base64')}`,
    };
    const dev = await startDev(env);
    try {
      const codecUrl = `http://127.0.0.1:${ports.codec}`;
      expect(dev.output()).toContain(`payloads are encrypted (codec key dev); codec server on ${codecUrl}`);
      expect(dev.output()).toMatch(/generated the vault master key .*master\.key \(0600\)/);
      expect(fs.statSync(path.join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);

      // The embedded Web UI was started with --ui-codec-endpoint pointing at the codec server.
      const ui = `http://127.0.0.1:${ports.ui}`;
      const settings = (await (await fetch(`${ui}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
      const endpoint = settings.Codec?.Endpoint ?? '';
      expect(endpoint.startsWith(`${codecUrl}/ui/`)).toBe(true);

      // The browser UI (its origin) can decode through it; a bare request without the token cannot.
      const body = JSON.stringify({ payloads: [] });
      const viaUi = await fetch(`${endpoint}/decode`, {
        method: 'POST',
        headers: { origin: ui, 'content-type': 'application/json', 'x-namespace': 'default' },
        body,
      });
      expect(viaUi.status).toBe(200);
      expect(viaUi.headers.get('access-control-allow-origin')).toBe(ui);
      const bare = await fetch(`${codecUrl}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(bare.status).toBe(401);

      // The CLI and the worker encrypt: a run started through the CLI completes, and its history (read
      // without the codec) holds ciphertext.
      const run = await runCli(['run', 'healthCheck', '--id', 'dev-codec-1', '--wait'], env);
      expect(run.code).toBe(0);
      const raw = await connectClient(loadConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}` }), 60_000);
      try {
        const history = await raw.workflow.getHandle('dev-codec-1').fetchHistory();
        const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
        expect(Buffer.from(input.metadata!.encoding!).toString()).toBe('binary/encrypted');
      } finally {
        await raw.connection.close();
      }
    } finally {
      const code = await dev.stop();
      expect({ code, output: code === 0 ? '' : dev.output() }).toEqual({ code: 0, output: '' });
    }
    for (const p of Object.values(ports)) expect(await portInUse(p)).toBe(false);
  });
});
