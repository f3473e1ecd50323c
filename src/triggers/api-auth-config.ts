import type { WardenConfig } from '../config';
import type { ApiAuthOptions } from './api-auth';
import { ApiTokenStore } from './api-tokens';
import { OidcVerifier } from './oidc';

/**
 * The HTTP API's authentication and Host allowlist as configured (WARDEN_API_*, WARDEN_OIDC_*), for
 * `createHttpServer`: the API-token store always (created empty on first use), OIDC when an issuer is set.
 * Call `close()` when the server stops.
 */
export function httpApiAccess(config: WardenConfig): {
  server: { auth: ApiAuthOptions; allowedHosts: string[]; bindHost: string };
  close(): void;
} {
  const tokens = ApiTokenStore.open(config.api.tokensFile);
  return {
    server: {
      auth: { tokens, oidc: config.api.oidc ? new OidcVerifier(config.api.oidc) : undefined },
      allowedHosts: config.api.allowedHosts,
      bindHost: config.http.host,
    },
    close: () => tokens.close(),
  };
}
