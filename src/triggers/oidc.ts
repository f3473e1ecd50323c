import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { ApiScope } from './api-tokens';
import { API_SCOPES } from './api-tokens';

/** How Warden trusts an OpenID provider's bearer tokens (WARDEN_OIDC_* settings). */
export interface OidcSettings {
  /** The issuer URL, exactly as the tokens' `iss` claim says it. */
  issuer: string;
  /** The audience (`aud`) a token must be issued for. */
  audience: string;
  /** The claim naming the user: the principal id a run records as its initiator. @default sub */
  userClaim: string;
  /** The claim holding the user's groups (array or space/comma-separated string). @default groups */
  groupsClaim: string;
  /** IdP group → Warden group; when non-empty, unmapped groups are dropped. */
  groupMap: Record<string, string>;
  /** Scopes every verified person holds, besides Warden scopes in the token's `scope`/`scp` claim. */
  defaultScopes: ApiScope[];
}

/** A verified person. */
export interface OidcIdentity {
  id: string;
  scopes: ApiScope[];
  groups: string[];
  /** Seconds since the epoch when the token stops being accepted. */
  expiresAt: number | undefined;
}

/** Why a bearer token was refused: 401 (the caller's token) or 503 (the issuer could not be reached). */
export class OidcRejected extends Error {
  constructor(
    readonly statusCode: 401 | 503,
    message: string,
  ) {
    super(message);
  }
}

// Asymmetric algorithms only: an HMAC "signature" would be made with a secret the issuer never shares.
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

function stringList(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (typeof v === 'string') return v.split(/[\s,]+/).filter(Boolean);
  return [];
}

/**
 * Verifies OIDC bearer tokens (JWT access or ID tokens) with `jose`: the signature against the issuer's
 * JWKS (found through its discovery document, cached, refetched when an unknown key id shows up, as after
 * a key rotation), then `iss`, `aud`, `exp` and `nbf` (60 s clock tolerance). Refusals say which check
 * failed and never contain the token.
 */
export class OidcVerifier {
  private jwks: Promise<JWTVerifyGetKey> | undefined;

  private readonly clockTolerance: number;

  /** @param opts.clockToleranceSec leeway on `exp`/`nbf` for clock skew. @default 60 */
  constructor(
    readonly settings: OidcSettings,
    opts: { clockToleranceSec?: number } = {},
  ) {
    this.clockTolerance = opts.clockToleranceSec ?? 60;
  }

  /** Verifies `token`. @throws OidcRejected */
  async verify(token: string): Promise<OidcIdentity> {
    const keys = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ALGORITHMS,
        clockTolerance: this.clockTolerance,
      }));
    } catch (err) {
      throw this.explain(err);
    }
    const id = payload[this.settings.userClaim];
    if (typeof id !== 'string' || !id)
      throw new OidcRejected(
        401,
        `the token has no "${this.settings.userClaim}" claim naming the user — have the issuer add it, or set WARDEN_OIDC_USER_CLAIM to the claim that does`,
      );
    const fromToken = [...stringList(payload.scope), ...stringList(payload.scp)].filter((s): s is ApiScope =>
      (API_SCOPES as readonly string[]).includes(s),
    );
    const map = this.settings.groupMap;
    const raw = stringList(payload[this.settings.groupsClaim]);
    const groups = Object.keys(map).length ? raw.flatMap((g) => (map[g] ? [map[g]] : [])) : raw;
    return {
      id,
      scopes: [...new Set([...this.settings.defaultScopes, ...fromToken])],
      groups: [...new Set(groups)],
      expiresAt: payload.exp,
    };
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    this.jwks ??= this.discover().catch((err: unknown) => {
      this.jwks = undefined; // try again on the next request
      throw err;
    });
    return this.jwks;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    const url = `${this.settings.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (err) {
      throw new OidcRejected(
        503,
        `cannot read the OIDC issuer's discovery document ${url} (${(err as Error).message}) — check WARDEN_OIDC_ISSUER and that the issuer is reachable`,
      );
    }
    if (doc.issuer !== this.settings.issuer)
      throw new OidcRejected(
        503,
        `the discovery document at ${url} names issuer ${JSON.stringify(doc.issuer)}, not WARDEN_OIDC_ISSUER=${this.settings.issuer} — set it exactly as the issuer says`,
      );
    if (typeof doc.jwks_uri !== 'string' || !URL.canParse(doc.jwks_uri))
      throw new OidcRejected(503, `the discovery document at ${url} has no usable jwks_uri`);
    return createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  }

  private explain(err: unknown): OidcRejected {
    if (err instanceof OidcRejected) return err;
    if (err instanceof errors.JWTExpired) return new OidcRejected(401, 'the bearer token has expired — sign in again');
    if (err instanceof errors.JWTClaimValidationFailed) {
      switch (err.claim) {
        case 'aud':
          return new OidcRejected(
            401,
            `the bearer token is not issued for this API: its audience is not ${this.settings.audience}`,
          );
        case 'iss':
          return new OidcRejected(
            401,
            `the bearer token comes from another issuer: only ${this.settings.issuer} is trusted`,
          );
        case 'nbf':
          return new OidcRejected(401, 'the bearer token is not valid yet (nbf in the future)');
        default:
          return new OidcRejected(401, `the bearer token's "${err.claim}" claim is invalid (${err.reason})`);
      }
    }
    if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
      return new OidcRejected(
        401,
        `the bearer token's signing algorithm is not accepted (allowed: ${ALGORITHMS.join(', ')})`,
      );
    if (err instanceof errors.JWKSNoMatchingKey)
      return new OidcRejected(401, "the bearer token's key id (kid) is not in the issuer's JWKS");
    if (err instanceof errors.JWSSignatureVerificationFailed)
      return new OidcRejected(401, "the bearer token's signature does not verify with the issuer's key");
    if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid)
      return new OidcRejected(503, "cannot load the OIDC issuer's signing keys (JWKS) — try again later");
    if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
      return new OidcRejected(401, 'the bearer token is not a well-formed signed JWT');
    if (err instanceof TypeError || (err instanceof Error && /fetch|ECONN/i.test(err.message)))
      return new OidcRejected(503, "cannot load the OIDC issuer's signing keys (JWKS) — try again later");
    return new OidcRejected(401, 'the bearer token could not be verified');
  }
}
