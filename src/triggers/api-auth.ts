import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiScope, ApiTokenStore } from './api-tokens';
import { API_TOKEN_PREFIX } from './api-tokens';
import type { OidcVerifier } from './oidc';
import { OidcRejected } from './oidc';

/**
 * An authenticated caller of the HTTP API. `id` is what a run started by the caller records as its
 * initiator: the OIDC user claim for a person (e.g. `carol`), `token:<name>` for an API token.
 */
export interface Principal {
  id: string;
  kind: 'oidc' | 'token';
  scopes: ApiScope[];
  groups: string[];
}

/** How the HTTP API authenticates callers: API tokens, OIDC bearer tokens, or both. */
export interface ApiAuthOptions {
  tokens?: ApiTokenStore;
  oidc?: OidcVerifier;
}

/** A refused request: the status and the JSON error sent (never containing the credential). */
export interface AuthProblem {
  statusCode: 401 | 403 | 503;
  error: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by {@link requireScope} once the caller is authenticated. */
    principal?: Principal;
  }
}

/**
 * Authenticates the request's `Authorization: Bearer <token>`: a `wdn_…` value against the API-token
 * store, anything else as an OIDC JWT. Resolves with the principal, or with the 401/503 to send.
 */
export async function authenticate(
  req: FastifyRequest,
  auth: ApiAuthOptions,
): Promise<{ principal: Principal } | AuthProblem> {
  if (!auth.tokens && !auth.oidc)
    return {
      statusCode: 401,
      error:
        'this server accepts no credentials yet — create an API token (warden tokens create <name> --scopes runs:read) or configure WARDEN_OIDC_ISSUER',
    };
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m)
    return {
      statusCode: 401,
      error: 'authentication required: send Authorization: Bearer <API token or OIDC access token>',
    };
  const token = m[1]!;
  if (token.startsWith(API_TOKEN_PREFIX)) {
    if (!auth.tokens) return { statusCode: 401, error: 'API tokens are not accepted by this server' };
    const v = auth.tokens.verify(token);
    if (!v.ok) return { statusCode: 401, error: v.reason };
    return { principal: { id: `token:${v.name}`, kind: 'token', scopes: v.scopes, groups: [] } };
  }
  if (!auth.oidc)
    return {
      statusCode: 401,
      error: `not an API token (they start with ${API_TOKEN_PREFIX}), and OIDC bearer tokens are not accepted: WARDEN_OIDC_ISSUER is unset`,
    };
  try {
    const who = await auth.oidc.verify(token);
    return { principal: { id: who.id, kind: 'oidc', scopes: who.scopes, groups: who.groups } };
  } catch (err) {
    if (err instanceof OidcRejected) return { statusCode: err.statusCode, error: err.message };
    throw err;
  }
}

/**
 * A Fastify preHandler that authenticates the caller and requires `scope` (none: any authenticated
 * caller). Sends 401 with `WWW-Authenticate: Bearer` for a missing or bad credential, 403 for a missing
 * scope, 503 when the OIDC issuer cannot be reached.
 */
export function requireScope(auth: ApiAuthOptions, scope?: ApiScope) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const result = await authenticate(req, auth);
    if (!('principal' in result)) {
      if (result.statusCode === 401) void reply.header('www-authenticate', 'Bearer realm="warden"');
      await reply.code(result.statusCode).send({ error: result.error });
      return;
    }
    if (scope && !result.principal.scopes.includes(scope)) {
      await reply.code(403).send({
        error: `${result.principal.id} lacks the ${scope} scope (has: ${result.principal.scopes.join(', ') || 'none'})`,
      });
      return;
    }
    req.principal = result.principal;
  };
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];

/**
 * The Host header values the server answers: loopback names, the bind host (unless a wildcard) and the
 * operator's extra names (WARDEN_API_ALLOWED_HOSTS). Lower-cased, without ports.
 */
export function allowedHostNames(bindHost: string, extra: string[]): Set<string> {
  const out = new Set(LOOPBACK_NAMES);
  const bind = bindHost.trim().toLowerCase();
  if (bind && bind !== '0.0.0.0' && bind !== '::' && bind !== '[::]')
    out.add(bind.includes(':') && !bind.startsWith('[') ? `[${bind}]` : bind);
  for (const h of extra) if (h.trim()) out.add(h.trim().toLowerCase());
  return out;
}

/** The host part of a Host header (`name`, `name:port`, `[v6]:port`), lower-cased; undefined when malformed. */
export function hostOf(header: string): string | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  return m?.[1]?.toLowerCase();
}

/**
 * Checks the Host header against the allowlist (stops DNS-rebinding pages in a browser from reaching a
 * loopback API). Resolves with the 400/421 to send, or undefined when the host is allowed.
 */
export function hostProblem(
  header: string | undefined,
  allowed: Set<string>,
): { statusCode: 400 | 421; error: string } | undefined {
  if (!header) return { statusCode: 400, error: 'missing Host header' };
  const host = hostOf(header);
  if (!host) return { statusCode: 400, error: 'malformed Host header' };
  if (allowed.has(host)) return undefined;
  return {
    statusCode: 421,
    error: `this server does not answer for host "${host}" — add it to WARDEN_API_ALLOWED_HOSTS if it is one of this server's names`,
  };
}
