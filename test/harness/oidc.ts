import type { ChildProcessByStdio } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { JWK } from 'jose';

/** A real OpenID provider (oidc-provider) in its own process; see oidc-provider.js. */
export interface TestOidcProvider {
  issuer: string;
  /** An access token from a real client_credentials grant (resource indicator → JWT access token). */
  clientCredentialsToken(client: 'warden-ci' | 'warden-short', resource: string, scope?: string): Promise<string>;
  stop(): Promise<void>;
}

const SECRETS = {
  'warden-ci': 'warden-ci-secret-for-tests-only',
  'warden-short': 'warden-short-secret-for-tests-only',
};

/** Starts oidc-provider signing with `keys` (private JWKs), serving `resources` (resource → allowed scopes). */
export async function startOidcProvider(opts: {
  keys: JWK[];
  resources: Record<string, string>;
}): Promise<TestOidcProvider> {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    [path.join(__dirname, 'oidc-provider.js'), JSON.stringify(opts)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const issuer = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`oidc-provider did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve((JSON.parse(d.toString()) as { issuer: string }).issuer);
    });
    child.once('exit', (code) => reject(new Error(`oidc-provider exited (${code}): ${stderr}`)));
  });
  return {
    issuer,
    async clientCredentialsToken(client, resource, scope) {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client}:${SECRETS[client]}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, ...(scope ? { scope } : {}) }),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!res.ok || !body.access_token) throw new Error(`token grant failed: ${res.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
