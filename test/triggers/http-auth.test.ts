import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { JWK } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { WardenClient } from '../../src/client';
import { UserError } from '../../src/errors';
import { createLogger } from '../../src/telemetry/logger';
import { freePort } from '../../src/runtime/dev-server';
import { ApiTokenStore } from '../../src/triggers/api-tokens';
import { createHttpServer } from '../../src/triggers/http-server';
import { OidcVerifier } from '../../src/triggers/oidc';
import { signRequest } from '../../src/triggers/signed-request';
import type { TestOidcProvider } from '../harness/oidc';
import { startOidcProvider } from '../harness/oidc';

/*
 * The HTTP API's caller authentication against a real Fastify server on loopback and a real OpenID
 * provider (oidc-provider, tokens minted by client_credentials grants). Temporal is replaced by a
 * recording client: this suite is about who may call, not about runs (http-api-runs.test.ts).
 */

const API = 'https://warden.test/api';
const OTHER_API = 'https://other.test/api';
const RESOURCES = { [API]: 'runs:read runs:start', [OTHER_API]: 'runs:read' };

interface Recorded {
  list: { query?: string; limit?: number }[];
  start: { type: string; input: unknown; opts: unknown }[];
}

function recordingClient(rec: Recorded): WardenClient {
  return {
    taskQueue: 'warden-test',
    list: (q: { query?: string; limit?: number }) => {
      rec.list.push(q);
      return Promise.resolve([]);
    },
    describe: (id: string) => {
      if (id === 'foreign-1')
        return Promise.resolve({ workflowId: id, type: 'otherAppWorkflow', taskQueue: 'billing', raw: {} });
      if (id === 'nope') return Promise.reject(new UserError(`no run with id ${id}`));
      return Promise.resolve({
        workflowId: id,
        type: 'healthCheck',
        taskQueue: 'warden-test',
        status: 'COMPLETED',
        raw: {},
      });
    },
    start: (type: string, input: unknown, opts: unknown) => {
      rec.start.push({ type, input, opts });
      return Promise.resolve({ workflowId: 'health-check-1', runId: 'r1' });
    },
  } as unknown as WardenClient;
}

/** A raw request, so the test controls the Host header (fetch always sends the real one). */
function rawGet(
  port: number,
  urlPath: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'GET', headers, setHost: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP API authentication', () => {
  let provider: TestOidcProvider;
  let impostor: TestOidcProvider; // same signing key, different issuer URL
  let issuerKey: JWK;
  let app: FastifyInstance;
  let base: string;
  let port: number;
  let tokens: ApiTokenStore;
  let clock = Date.now();
  const logLines: string[] = [];
  const secretsSeen: string[] = [];
  const rec: Recorded = { list: [], start: [] };
  let dataDir: string;

  const call = async (urlPath: string, bearer?: string, init: RequestInit = {}) => {
    if (bearer) secretsSeen.push(bearer);
    const res = await fetch(`${base}${urlPath}`, {
      ...init,
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(init.headers as Record<string, string>),
      },
    });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
  };

  beforeAll(async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    issuerKey = { ...(await exportJWK(privateKey)), kid: 'issuer-key-1', alg: 'RS256', use: 'sig' };
    [provider, impostor] = await Promise.all([
      startOidcProvider({ keys: [issuerKey], resources: RESOURCES }),
      startOidcProvider({ keys: [issuerKey], resources: RESOURCES }),
    ]);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-http-auth-'));
    tokens = ApiTokenStore.open(path.join(dataDir, 'api-tokens.db'), { now: () => new Date(clock) });
    app = createHttpServer({
      client: recordingClient(rec),
      logger: createLogger({ level: 'trace', stream: { write: (l: string) => void logLines.push(l) } }),
      auth: {
        tokens,
        oidc: new OidcVerifier(
          {
            issuer: provider.issuer,
            audience: API,
            userClaim: 'sub',
            groupsClaim: 'groups',
            groupMap: { 'soc-l2': 'soc-l2' },
            defaultScopes: [],
          },
          { clockToleranceSec: 0 },
        ),
      },
      allowedHosts: ['warden.internal'],
      webhooks: {
        secretFor: (s) => Promise.resolve(s === 'siem' ? 'webhook-secret-siem' : undefined),
        deliver: (d) => Promise.resolve({ workflowId: `alert-${d.source}-1`, duplicate: false }),
      },
    });
    port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await app?.close();
    tokens?.close();
    await Promise.all([provider?.stop(), impostor?.stop()]);
  });

  describe('without credentials', () => {
    it('answers health probes, and 401 with a clear JSON error on every API route', async () => {
      expect((await call('/healthz')).status).toBe(200);
      expect((await call('/readyz')).status).toBe(200);
      for (const route of ['/v1/runs', '/v1/runs/health-check-1', '/v1/whoami']) {
        const res = await call(route);
        expect({ route, status: res.status }).toEqual({ route, status: 401 });
        expect(res.body.error).toMatch(/authentication required: send Authorization: Bearer/);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      const post = await call('/v1/runs', undefined, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'healthCheck' }),
      });
      expect(post.status).toBe(401);
      expect(rec.start).toEqual([]);
    });

    it('refuses every caller when neither API tokens nor OIDC are configured (fails closed)', async () => {
      const bare = createHttpServer({ client: recordingClient(rec), logger: createLogger({ level: 'silent' }) });
      const res = await bare.inject({ method: 'GET', url: '/v1/runs', headers: { authorization: 'Bearer wdn_x' } });
      expect(res.statusCode).toBe(401);
      expect(res.json<{ error: string }>().error).toMatch(/accepts no credentials yet — create an API token/);
      await bare.close();
    });

    it('keeps webhooks on their HMAC signature (no bearer token needed, a bad signature still refused)', async () => {
      const body = JSON.stringify({ id: 'a1' });
      const ts = Math.floor(Date.now() / 1000);
      const post = (sig: string) =>
        call('/v1/webhooks/siem', undefined, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-warden-timestamp': String(ts), 'x-warden-signature': sig },
          body,
        });
      const ok = await post(signRequest('webhook-secret-siem', ts, body));
      expect(ok.status).toBe(202);
      expect(ok.body.workflowId).toBe('alert-siem-1');
      expect((await post(signRequest('wrong-secret', ts, body))).status).toBe(401);
    });
  });

  describe('API tokens', () => {
    it('authenticates a token from the store, by scope', async () => {
      const { token } = tokens.create({ name: 'ci-reader', scopes: ['runs:read'] });
      const who = await call('/v1/whoami', token);
      expect(who.status).toBe(200);
      expect(who.body).toEqual({ id: 'token:ci-reader', kind: 'token', scopes: ['runs:read'], groups: [] });
      expect((await call('/v1/runs', token)).status).toBe(200);

      const start = await call('/v1/runs', token, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'healthCheck' }),
      });
      expect(start.status).toBe(403);
      expect(start.body.error).toBe('token:ci-reader lacks the runs:start scope (has: runs:read)');
      expect(rec.start).toEqual([]);
    });

    it('stores only a digest of the token', () => {
      const { token } = tokens.create({ name: 'digest-check', scopes: ['runs:read'] });
      secretsSeen.push(token);
      const secretPart = token.split('_').slice(2).join('_');
      const bytes = [
        fs.readFileSync(path.join(dataDir, 'api-tokens.db')),
        ...['-wal']
          .filter((s) => fs.existsSync(path.join(dataDir, `api-tokens.db${s}`)))
          .map((s) => fs.readFileSync(path.join(dataDir, `api-tokens.db${s}`))),
      ]
        .map((b) => b.toString('latin1'))
        .join('');
      expect(bytes).toContain('digest-check');
      expect(bytes).not.toContain(secretPart);
      expect((fs.statSync(path.join(dataDir, 'api-tokens.db')).mode & 0o777).toString(8)).toBe('600');
    });

    it('refuses a revoked, an expired, an unknown and a malformed token with 401', async () => {
      const revoked = tokens.create({ name: 'revoked', scopes: ['runs:read'] }).token;
      expect((await call('/v1/runs', revoked)).status).toBe(200);
      tokens.revoke('revoked');
      const r1 = await call('/v1/runs', revoked);
      expect([r1.status, r1.body.error]).toEqual([401, 'API token "revoked" was revoked']);

      const expiring = tokens.create({ name: 'short', scopes: ['runs:read'], expiresAt: new Date(clock + 60_000) });
      expect((await call('/v1/runs', expiring.token)).status).toBe(200);
      clock += 120_000;
      const r2 = await call('/v1/runs', expiring.token);
      expect(r2.status).toBe(401);
      expect(r2.body.error).toMatch(/^API token "short" expired at .* — create a new one$/);

      // Right id, wrong secret: the digest decides, not the id.
      const forged = `${expiring.token.slice(0, 17)}${'A'.repeat(43)}`;
      const r3 = await call('/v1/runs', forged);
      expect([r3.status, r3.body.error]).toEqual([401, 'unknown API token']);
      const r4 = await call('/v1/runs', 'wdn_nonsense');
      expect(r4.status).toBe(401);
      expect(r4.body.error).toMatch(/malformed API token/);
    });
  });

  describe('OIDC bearer tokens (a real OpenID provider)', () => {
    it('accepts a valid access token and answers with the identity, groups mapped, scopes from the token', async () => {
      const jwt = await provider.clientCredentialsToken('warden-ci', API, 'runs:read runs:start');
      const who = await call('/v1/whoami', jwt);
      expect(who.status).toBe(200);
      // groups claim ["soc-l2", "contractors"]: the map keeps only soc-l2.
      expect(who.body).toEqual({
        id: 'warden-ci',
        kind: 'oidc',
        scopes: ['runs:read', 'runs:start'],
        groups: ['soc-l2'],
      });
      expect((await call('/v1/runs', jwt)).status).toBe(200);
    });

    it('records the authenticated caller as the initiator of a run it starts, and refuses a forged initiator', async () => {
      const jwt = await provider.clientCredentialsToken('warden-ci', API, 'runs:read runs:start');
      rec.start.length = 0;
      const started = await call('/v1/runs', jwt, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'runPlaybook', input: { playbook: { name: 'p' } } }),
      });
      expect(started.status).toBe(201);
      expect(started.body.initiator).toBe('warden-ci');
      expect(rec.start).toEqual([
        {
          type: 'runPlaybook',
          input: { playbook: { name: 'p' } },
          opts: { initiator: 'warden-ci', workflowId: undefined },
        },
      ]);

      const forged = await call('/v1/runs', jwt, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'runPlaybook', input: { playbook: { name: 'p' }, initiator: 'carol' } }),
      });
      expect(forged.status).toBe(400);
      expect(forged.body.error).toMatch(/input.initiator is not accepted/);
      expect(rec.start).toHaveLength(1);
    });

    it('refuses a token the scopes of which do not include what the route needs', async () => {
      const jwt = await provider.clientCredentialsToken('warden-ci', API, 'runs:read');
      const res = await call('/v1/runs', jwt, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'healthCheck' }),
      });
      expect([res.status, res.body.error]).toEqual([403, 'warden-ci lacks the runs:start scope (has: runs:read)']);
    });

    it('refuses an expired token', async () => {
      const jwt = await provider.clientCredentialsToken('warden-short', API);
      expect((await call('/v1/whoami', jwt)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 3100)); // warden-short's tokens live 2 s
      const res = await call('/v1/whoami', jwt);
      expect([res.status, res.body.error]).toEqual([401, 'the bearer token has expired — sign in again']);
    });

    it('refuses a token issued for another audience', async () => {
      const jwt = await provider.clientCredentialsToken('warden-ci', OTHER_API, 'runs:read');
      const res = await call('/v1/whoami', jwt);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe(`the bearer token is not issued for this API: its audience is not ${API}`);
    });

    it('refuses a token from another issuer, even one signed with the same key', async () => {
      const jwt = await impostor.clientCredentialsToken('warden-ci', API, 'runs:read');
      const res = await call('/v1/whoami', jwt);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe(`the bearer token comes from another issuer: only ${provider.issuer} is trusted`);
    });

    describe('forged tokens', () => {
      const claims = () => ({ sub: 'mallory', scope: 'runs:read runs:start', aud: API, iss: provider.issuer });

      it('refuses a bad signature (an attacker key claiming the issuer key id)', async () => {
        const { privateKey } = await generateKeyPair('RS256');
        const jwt = await new SignJWT(claims())
          .setProtectedHeader({ alg: 'RS256', kid: issuerKey.kid! })
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(privateKey);
        const res = await call('/v1/whoami', jwt);
        expect([res.status, res.body.error]).toEqual([
          401,
          "the bearer token's signature does not verify with the issuer's key",
        ]);
      });

      it('refuses an unknown key id', async () => {
        const { privateKey } = await generateKeyPair('RS256');
        const jwt = await new SignJWT(claims())
          .setProtectedHeader({ alg: 'RS256', kid: 'not-the-issuers' })
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(privateKey);
        const res = await call('/v1/whoami', jwt);
        expect([res.status, res.body.error]).toEqual([
          401,
          "the bearer token's key id (kid) is not in the issuer's JWKS",
        ]);
      });

      it('refuses alg none', async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        const jwt = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...claims(), iat: now, exp: now + 600 })}.`;
        const res = await call('/v1/whoami', jwt);
        expect(res.status).toBe(401);
        expect(res.body.error).toMatch(/^the bearer token's signing algorithm is not accepted \(allowed: RS256/);
      });

      it('refuses a token that is not a JWT at all', async () => {
        const res = await call('/v1/whoami', 'not-a-jwt');
        expect([res.status, res.body.error]).toEqual([401, 'the bearer token is not a well-formed signed JWT']);
      });
    });

    it('answers 503 (not 401) when the issuer cannot be reached', async () => {
      const deadPort = await freePort();
      const offline = createHttpServer({
        client: recordingClient(rec),
        logger: createLogger({ level: 'silent' }),
        auth: {
          oidc: new OidcVerifier({
            issuer: `http://127.0.0.1:${deadPort}`,
            audience: API,
            userClaim: 'sub',
            groupsClaim: 'groups',
            groupMap: {},
            defaultScopes: ['runs:read'],
          }),
        },
      });
      const jwt = await provider.clientCredentialsToken('warden-ci', API, 'runs:read');
      secretsSeen.push(jwt);
      const res = await offline.inject({
        method: 'GET',
        url: '/v1/whoami',
        headers: { authorization: `Bearer ${jwt}` },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json<{ error: string }>().error).toMatch(/cannot read the OIDC issuer's discovery document/);
      await offline.close();
    });
  });

  describe('Host header allowlist', () => {
    it('answers 421 for a host it does not serve, 400 without one, and lets known names through', async () => {
      const evil = await rawGet(port, '/v1/runs', { host: 'attacker.example:8787' });
      expect(evil.status).toBe(421);
      expect(JSON.parse(evil.body)).toEqual({
        error:
          'this server does not answer for host "attacker.example" — add it to WARDEN_API_ALLOWED_HOSTS if it is one of this server\'s names',
      });
      expect((await rawGet(port, '/v1/runs', {})).status).toBe(400);
      // Allowed names reach authentication (401 without a token).
      for (const host of ['localhost:8787', `127.0.0.1:${port}`, '[::1]:1', 'warden.internal', 'WARDEN.INTERNAL:443'])
        expect({ host, status: (await rawGet(port, '/v1/runs', { host })).status }).toEqual({ host, status: 401 });
      // Probes answer whatever the Host (kubelet uses the pod IP).
      expect((await rawGet(port, '/healthz', { host: 'attacker.example' })).status).toBe(200);
    });

    it('checks the host before credentials, also on webhook routes', async () => {
      const { token } = tokens.create({ name: 'host-check', scopes: ['runs:read'] });
      secretsSeen.push(token);
      expect(
        (await rawGet(port, '/v1/runs', { host: 'rebind.example', authorization: `Bearer ${token}` })).status,
      ).toBe(421);
      expect((await rawGet(port, '/v1/webhooks/siem', { host: 'rebind.example' })).status).toBe(421);
    });
  });

  describe('runs listing', () => {
    it('lists only Warden workflows on its task queue, from structured filters', async () => {
      const { token } = tokens.create({ name: 'lister', scopes: ['runs:read'] });
      rec.list.length = 0;
      const res = await call('/v1/runs?status=running&type=runPlaybook&limit=5', token);
      expect(res.status).toBe(200);
      expect(rec.list).toEqual([
        {
          limit: 5,
          query:
            'TaskQueue = "warden-test" AND WorkflowType IN ("healthCheck", "runPlaybook", "forEachBatch", "governor", "thresholdEntity") AND ExecutionStatus = "Running" AND WorkflowType = "runPlaybook"',
        },
      ]);
    });

    it('refuses a raw visibility query and unknown filter values with what to send instead', async () => {
      const { token } = tokens.create({ name: 'lister-2', scopes: ['runs:read'] });
      rec.list.length = 0;
      const raw = await call(`/v1/runs?query=${encodeURIComponent('WorkflowType = "x" OR 1=1')}`, token);
      expect(raw.status).toBe(400);
      expect(raw.body.error).toMatch(/^raw visibility queries are not accepted — filter with status, type and since/);
      const badType = await call(`/v1/runs?type=${encodeURIComponent('healthCheck" OR WorkflowType != "')}`, token);
      expect(badType.status).toBe(400);
      expect(badType.body.error).toMatch(/^unknown workflow type/);
      expect(rec.list).toEqual([]);
    });

    it("answers 404 for another application's workflow in the namespace", async () => {
      const { token } = tokens.create({ name: 'describer', scopes: ['runs:read'] });
      expect((await call('/v1/runs/health-check-1', token)).status).toBe(200);
      const foreign = await call('/v1/runs/foreign-1', token);
      expect([foreign.status, foreign.body.error]).toEqual([404, 'no run with id foreign-1']);
      expect((await call('/v1/runs/nope', token)).status).toBe(404);
    });
  });

  it('never writes a token or bearer value to the log or into an error message', () => {
    const log = logLines.join('');
    expect(logLines.length).toBeGreaterThan(20); // trace level: every request was logged
    expect(secretsSeen.length).toBeGreaterThan(10);
    for (const secret of secretsSeen) {
      expect(log).not.toContain(secret);
      // Each part alone too (a JWT's signature, a token's secret half).
      for (const part of secret.split(/[._]/).filter((p) => p.length >= 20)) expect(log).not.toContain(part);
    }
  });
});
