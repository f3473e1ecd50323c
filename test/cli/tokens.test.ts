import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WardenClient } from '../../src/client';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/telemetry/logger';
import { httpApiAccess } from '../../src/triggers/api-auth-config';
import { createHttpServer } from '../../src/triggers/http-server';
import { runCli } from '../harness/cli';

describe('warden tokens create|ls|revoke (real binary)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-tokens-'));
  const env = { WARDEN_DATA_DIR: dataDir };

  it('prints a token once, lists it without the secret, and a revocation locks the HTTP API out', async () => {
    const created = await runCli(['tokens', 'create', 'ci-deploy', '--scopes', 'runs:read', '--expires', '30d'], env);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^wdn_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/created API token "ci-deploy" \(runs:read; expires 20\d\d-.*\) — it is shown once/);
    expect(created.stderr).not.toContain(token);

    const ls = await runCli(['tokens', 'ls', '--json'], env);
    expect(ls.code).toBe(0);
    // The secret is base64url (it may itself hold '_'): everything after the id.
    expect(ls.stdout).not.toContain(token.slice('wdn_'.length + 12 + 1));
    const listed = JSON.parse(ls.stdout) as { name: string; scopes: string[]; status: string }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'ci-deploy', scopes: ['runs:read'], status: 'active' })]);

    // The server of the same data directory accepts it …
    const config = loadConfig(env);
    const access = httpApiAccess(config);
    const client = { taskQueue: 'warden', list: () => Promise.resolve([]) } as unknown as WardenClient;
    const app = createHttpServer({ client, logger: createLogger({ level: 'silent' }), ...access.server });
    try {
      const auth = { authorization: `Bearer ${token}` };
      const who = await app.inject({ method: 'GET', url: '/v1/whoami', headers: auth });
      expect(who.json()).toEqual({ id: 'token:ci-deploy', kind: 'token', scopes: ['runs:read'], groups: [] });

      // … until it is revoked, from another process, with no restart.
      const revoked = await runCli(['tokens', 'revoke', 'ci-deploy'], env);
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toMatch(/^revoked API token "ci-deploy"/);
      const after = await app.inject({ method: 'GET', url: '/v1/runs', headers: auth });
      expect(after.statusCode).toBe(401);
      expect(after.json<{ error: string }>().error).toBe('API token "ci-deploy" was revoked');
    } finally {
      await app.close();
      access.close();
    }
  });

  it('refuses bad input with what to do', async () => {
    const scope = await runCli(['tokens', 'create', 'x', '--scopes', 'runs:write'], env);
    expect(scope.code).toBe(1);
    expect(scope.stderr).toMatch(/unknown scope "runs:write" — known scopes: runs:read, runs:start/);
    const when = await runCli(['tokens', 'create', 'x', '--scopes', 'runs:read', '--expires', 'soon'], env);
    expect(when.stderr).toMatch(/--expires "soon" is not a duration/);
    const name = await runCli(['tokens', 'create', 'Bad Name', '--scopes', 'runs:read'], env);
    expect(name.stderr).toMatch(/token name "Bad Name" is not allowed/);
    await runCli(['tokens', 'create', 'dup', '--scopes', 'runs:read'], env);
    const dup = await runCli(['tokens', 'create', 'dup', '--scopes', 'runs:read'], env);
    expect(dup.stderr).toMatch(/a token named "dup" already exists — revoke it first/);
    const missing = await runCli(['tokens', 'revoke', 'ghost'], env);
    expect(missing.stderr).toMatch(/no API token named "ghost" — list them with: warden tokens ls/);
    for (const r of [scope, when, name, dup, missing]) expect(r.stdout).toBe('');
  });
});
