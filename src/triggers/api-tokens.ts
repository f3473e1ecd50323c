import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../errors';

/**
 * The scopes an API caller can hold. `runs:read` lists and describes Warden's runs; `runs:start` starts
 * one (the caller becomes its initiator). Webhook and event routes are authenticated by their HMAC
 * secret instead.
 */
export const API_SCOPES = ['runs:read', 'runs:start'] as const;
/** One API scope. */
export type ApiScope = (typeof API_SCOPES)[number];

/** Checks a comma- or space-separated scope list; throws a UserError naming the unknown ones. */
export function parseScopes(list: string): ApiScope[] {
  const words = list
    .split(/[\s,]+/)
    .map((w) => w.trim())
    .filter(Boolean);
  const unknown = words.filter((w) => !(API_SCOPES as readonly string[]).includes(w));
  if (unknown.length)
    throw new UserError(
      `unknown scope ${unknown.map((u) => `"${u}"`).join(', ')} — known scopes: ${API_SCOPES.join(', ')}`,
    );
  if (!words.length) throw new UserError(`give at least one scope (${API_SCOPES.join(', ')})`);
  return [...new Set(words)] as ApiScope[];
}

/** Every API token starts with this, so scanners (and Warden) can tell it from a JWT. */
export const API_TOKEN_PREFIX = 'wdn_';
const TOKEN_FORMAT = /^wdn_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const NAME_FORMAT = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** An API token as `warden tokens ls` shows it: never the token or its hash. */
export interface ApiTokenInfo {
  id: string;
  name: string;
  scopes: ApiScope[];
  createdAt: string;
  expiresAt: string | undefined;
  revokedAt: string | undefined;
  status: 'active' | 'expired' | 'revoked';
}

interface TokenRow {
  id: string;
  name: string;
  hash: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT
);`;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The API-token store: a SQLite file (default `<WARDEN_DATA_DIR>/api-tokens.db`, mode 0600) holding each
 * token's SHA-256 digest, never the token. A token is `wdn_<id>_<secret>` with 256 random bits; the id
 * finds the row, the digest comparison (constant time) proves the secret. Every check reads the file,
 * so a revocation takes effect on the next request of every server sharing it.
 */
export class ApiTokenStore {
  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => Date,
  ) {}

  /** Opens (creating it, 0600, when missing) the token database. */
  static open(file: string, opts: { now?: () => Date } = {}): ApiTokenStore {
    const abs = path.resolve(file);
    if (!fs.existsSync(abs)) {
      fs.mkdirSync(path.dirname(abs), { recursive: true, mode: 0o700 });
      fs.closeSync(fs.openSync(abs, 'a', 0o600));
    }
    const db = new Database(abs);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA);
    return new ApiTokenStore(db, opts.now ?? (() => new Date()));
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }

  /**
   * Creates a token and returns it: the only time it exists in clear.
   * @throws UserError for a bad or taken name, an unknown scope or an expiry in the past.
   */
  create(opts: { name: string; scopes: ApiScope[]; expiresAt?: Date }): { token: string; info: ApiTokenInfo } {
    if (!NAME_FORMAT.test(opts.name))
      throw new UserError(
        `token name "${opts.name}" is not allowed — use 1–64 lowercase letters, digits, . _ - (e.g. ci-deploy)`,
      );
    if (opts.expiresAt && opts.expiresAt.getTime() <= this.now().getTime())
      throw new UserError('the expiry is in the past — give a duration such as 90d or a future date');
    const existing = this.db.prepare('SELECT name FROM api_tokens WHERE name = ?').get(opts.name);
    if (existing)
      throw new UserError(
        `a token named "${opts.name}" already exists — revoke it first (warden tokens revoke ${opts.name}) or pick another name`,
      );
    const id = randomBytes(6).toString('hex');
    const token = `${API_TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const createdAt = this.now().toISOString();
    this.db
      .prepare(
        'INSERT INTO api_tokens (id, name, hash, scopes, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)',
      )
      .run(id, opts.name, digest(token), opts.scopes.join(' '), createdAt, opts.expiresAt?.toISOString() ?? null);
    return { token, info: this.info(this.row(id)!) };
  }

  /** Every token, newest first (no secrets). */
  list(): ApiTokenInfo[] {
    const rows = this.db.prepare('SELECT * FROM api_tokens ORDER BY created_at DESC, name').all() as TokenRow[];
    return rows.map((r) => this.info(r));
  }

  /**
   * Revokes a token by name or id (idempotent).
   * @throws UserError when no token has that name or id.
   */
  revoke(nameOrId: string): ApiTokenInfo {
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE name = ? OR id = ?').get(nameOrId, nameOrId) as
      TokenRow | undefined;
    if (!row) throw new UserError(`no API token named "${nameOrId}" — list them with: warden tokens ls`);
    if (!row.revoked_at)
      this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(this.now().toISOString(), row.id);
    return this.info(this.row(row.id)!);
  }

  /**
   * Checks a presented token. Resolves with its name and scopes, or with why it is refused (never
   * echoing the token).
   */
  verify(token: string): { ok: true; name: string; scopes: ApiScope[] } | { ok: false; reason: string } {
    const m = TOKEN_FORMAT.exec(token);
    if (!m)
      return { ok: false, reason: 'malformed API token (expected wdn_<id>_<secret> from `warden tokens create`)' };
    const row = this.row(m[1]!);
    const given = Buffer.from(digest(token), 'hex');
    // Compare against something even for an unknown id, so timing does not tell ids apart.
    const stored = Buffer.from(row?.hash ?? digest(`${token}.unknown`), 'hex');
    if (!row || !timingSafeEqual(given, stored)) return { ok: false, reason: 'unknown API token' };
    const info = this.info(row);
    if (info.status === 'revoked') return { ok: false, reason: `API token "${row.name}" was revoked` };
    if (info.status === 'expired')
      return { ok: false, reason: `API token "${row.name}" expired at ${info.expiresAt} — create a new one` };
    return { ok: true, name: row.name, scopes: info.scopes };
  }

  private row(id: string): TokenRow | undefined {
    return this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as TokenRow | undefined;
  }

  private info(r: TokenRow): ApiTokenInfo {
    const expired = r.expires_at !== null && Date.parse(r.expires_at) <= this.now().getTime();
    return {
      id: r.id,
      name: r.name,
      scopes: r.scopes.split(' ').filter(Boolean) as ApiScope[],
      createdAt: r.created_at,
      expiresAt: r.expires_at ?? undefined,
      revokedAt: r.revoked_at ?? undefined,
      status: r.revoked_at ? 'revoked' : expired ? 'expired' : 'active',
    };
  }
}
