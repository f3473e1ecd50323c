// A real OpenID provider (the `oidc-provider` package) for the HTTP API's OIDC tests, run as its own
// process because the package is ESM-only and jest runs CommonJS (plain Node imports it dynamically).
// Reads its settings as JSON from argv[2]:
//   { "keys": [<private JWK>...], "issuerPort"?: number, "resources": { "<resource>": "<scopes>" } }
// prints {"issuer": "..."} once listening, and serves until killed.
// Clients (client_credentials only): warden-ci (groups soc-l2, contractors), warden-short (access tokens
// live 2 s).
const http = require('node:http');

async function main() {
  const { default: Provider } = await import('oidc-provider');
  const opts = JSON.parse(process.argv[2] ?? '{}');
  const server = http.createServer();
  await new Promise((resolve) => server.listen(opts.issuerPort ?? 0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, {
    jwks: { keys: opts.keys },
    clients: [
      {
        client_id: 'warden-ci',
        client_secret: 'warden-ci-secret-for-tests-only',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: 'runs:read runs:start',
      },
      {
        client_id: 'warden-short',
        client_secret: 'warden-short-secret-for-tests-only',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: 'runs:read',
      },
    ],
    scopes: ['openid', 'runs:read', 'runs:start'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => Object.keys(opts.resources)[0],
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          const scope = opts.resources[resource];
          if (scope === undefined) throw new Provider.errors.InvalidTarget();
          return {
            scope,
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: client.clientId === 'warden-short' ? 2 : 600,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: (_ctx, token) =>
      token.clientId === 'warden-ci' ? { groups: ['soc-l2', 'contractors'] } : undefined,
  });
  provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider: ${err.stack}\n`));
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main().catch((err) => {
  process.stderr.write(`oidc-provider: ${err.stack}\n`);
  process.exit(1);
});
