import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { WardenClient } from '../../src/client';
import type { DevServer } from '../../src/runtime/dev-server';
import { freePort, startDevServer } from '../../src/runtime/dev-server';
import { resolveTemporalCli } from '../../src/runtime/temporal-binaries';
import { createLogger } from '../../src/telemetry/logger';
import { loadConfig } from '../../src/config';
import { createHttpServer, httpServerLimits } from '../../src/triggers/http-server';
import { signWebhook } from '../../src/triggers/webhooks';
import { ROOT, isolatedKeysDir } from '../harness/cli';
import { waitFor } from '../harness/wait';

const SECRET = 'backpressure-test-secret';
const ALERT = fs.readFileSync(
  path.join(ROOT, 'src', 'usecases', 'alert-triage', 'demo-data', 'alerts', 'crowdstrike-detection.json'),
  'utf8',
);

function startServe(
  env: Record<string, string>,
): Promise<{ child: ChildProcessWithoutNullStreams; out: () => string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'warden.js'), 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WARDEN_KEYS_DIR: isolatedKeysDir(), ...env },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return waitFor(
    () => Promise.resolve(out),
    (o) => o.includes('HTTP server on') || child.exitCode !== null,
    60_000,
  ).then(() => {
    if (child.exitCode !== null) throw new Error(`warden serve exited: ${out}`);
    return { child, out: () => out };
  });
}

describe('HTTP backpressure', () => {
  jest.setTimeout(180_000);

  it('answers 503 with Retry-After quickly, and /readyz 503, while Temporal is unreachable', async () => {
    const temporal: DevServer = await startDevServer({
      cliPath: resolveTemporalCli(process.env.TEMPORAL_CLI_PATH),
      port: 0,
      uiPort: 0,
      headless: true,
      startTimeoutMs: 120_000,
    });
    const port = await freePort();
    const serve = await startServe({
      TEMPORAL_ADDRESS: temporal.address,
      WARDEN_HTTP_PORT: String(port),
      WARDEN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bp-')),
      WARDEN_SECRET_WEBHOOK_CROWDSTRIKE: SECRET,
    }).catch(async (err: unknown) => {
      await temporal.stop();
      throw err;
    });
    const base = `http://127.0.0.1:${port}`;
    const post = () => {
      const ts = Math.floor(Date.now() / 1000);
      return fetch(`${base}/v1/webhooks/crowdstrike`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-warden-timestamp': String(ts),
          'x-warden-signature': signWebhook(SECRET, ts, ALERT),
        },
        body: ALERT,
        signal: AbortSignal.timeout(30_000),
      });
    };
    try {
      await waitFor(
        async () => (await fetch(`${base}/readyz`)).status,
        (s) => s === 200,
        20_000,
      );
      await temporal.stop(2_000);

      // Before the probe has noticed: the start itself is bounded.
      let t0 = Date.now();
      const first = await post();
      expect([first.status, first.headers.get('retry-after')]).toEqual([503, '5']);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(((await first.json()) as { error: string }).error).toMatch(/Temporal cannot be reached/);

      // Once it has: readiness says so, and requests are turned away at once.
      const ready = await waitFor(
        async () => fetch(`${base}/readyz`),
        (r) => r.status === 503,
        15_000,
      );
      expect(((await ready.json()) as { checks: { temporal: { ok: boolean } } }).checks.temporal.ok).toBe(false);
      t0 = Date.now();
      const second = await post();
      expect([second.status, second.headers.get('retry-after')]).toEqual([503, '5']);
      expect(Date.now() - t0).toBeLessThan(1_000);
    } finally {
      serve.child.kill('SIGTERM');
      await temporal.stop(2_000);
    }
  });

  it('turns away only the routes that need Temporal while its probe fails (query strings included)', async () => {
    const app = createHttpServer({
      client: { taskQueue: 'q' } as unknown as WardenClient,
      logger: createLogger({ level: 'silent' }),
      temporal: { check: { name: 'temporal', check: () => Promise.reject(new Error('connection refused')) } },
    });
    await app.ready();
    try {
      for (const url of ['/v1/runs?status=running', '/v1/runs/some-id', '/v1/webhooks/crowdstrike', '/v1/events/x']) {
        const res = await app.inject({ method: url.startsWith('/v1/runs') ? 'GET' : 'POST', url });
        expect([url, res.statusCode, res.headers['retry-after']]).toEqual([url, 503, '5']);
      }
      expect((await app.inject({ method: 'GET', url: '/v1/whoami' })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json<{ checks: { temporal: { error: string } } }>().checks.temporal.error).toBe(
        'connection refused',
      );
    } finally {
      await app.close();
    }
  });

  it('closes a connection whose body never completes within WARDEN_HTTP_BODY_TIMEOUT_MS (408), instead of holding it for minutes', async () => {
    const app = createHttpServer({
      client: { taskQueue: 'q' } as unknown as WardenClient,
      logger: createLogger({ level: 'silent' }),
      webhooks: { secretFor: () => Promise.resolve(SECRET), deliver: () => Promise.reject(new Error('unreached')) },
      ...httpServerLimits(loadConfig({ WARDEN_HTTP_BODY_TIMEOUT_MS: '1500' })),
    });
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    try {
      const socket = net.connect(port, '127.0.0.1');
      let answer = '';
      socket.on('data', (c: Buffer) => (answer += c.toString()));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      const t0 = Date.now();
      socket.write(
        'POST /v1/webhooks/crowdstrike HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n' +
          'content-length: 1000\r\n\r\n{"partial":',
      );
      await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
      expect(socket.destroyed || socket.readableEnded).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      socket.destroy();
    } finally {
      await app.close();
    }
  });

  it('answers 413 to a body over WARDEN_HTTP_BODY_LIMIT_BYTES', async () => {
    const app = createHttpServer({
      client: { taskQueue: 'q' } as unknown as WardenClient,
      logger: createLogger({ level: 'silent' }),
      ...httpServerLimits(loadConfig({ WARDEN_HTTP_BODY_LIMIT_BYTES: '2048' })),
    });
    try {
      const post = (bytes: number) =>
        app.inject({
          method: 'POST',
          url: '/v1/runs',
          headers: { host: '127.0.0.1', 'content-type': 'application/json' },
          payload: JSON.stringify({ pad: 'x'.repeat(bytes) }),
        });
      const big = await post(4096);
      expect(big.statusCode).toBe(413);
      // Under the limit the body is read, and the request fails on what comes next (no credentials).
      expect((await post(512)).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});
