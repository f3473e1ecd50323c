import fs from 'node:fs';
import type { WardenConfig } from '../config';
import { UserError } from '../errors';
import { PostgresAuditStore, redactConnectionString } from './postgres-store';
import { SqliteAuditStore } from './sqlite-store';
import type { AuditStore } from './store';

/** Options for {@link openAuditStore}. */
export interface OpenAuditStoreOptions {
  /**
   * Create the ledger (SQLite file, or PostgreSQL tables) when missing. Readers such as
   * `warden audit verify` pass false, so a wrong data dir is an error rather than a new empty ledger.
   * @default true
   */
  create?: boolean;
}

/**
 * Opens the configured audit store: PostgreSQL when `WARDEN_AUDIT_DATABASE_URL` is set (a fleet),
 * otherwise the embedded SQLite ledger at `<WARDEN_DATA_DIR>/audit.db`.
 *
 * @throws UserError saying what to check when the ledger does not exist (with `create: false`) or
 *   the database cannot be reached; messages never contain the database password.
 */
export async function openAuditStore(
  config: Pick<WardenConfig, 'audit'>,
  opts: OpenAuditStoreOptions = {},
): Promise<AuditStore> {
  const create = opts.create ?? true;
  const url = config.audit.databaseUrl;
  if (url) {
    try {
      return await PostgresAuditStore.open({ connectionString: url, create });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = (e.code ? `${e.code}: ` : '') + scrub(e.message, url);
      throw new UserError(
        `cannot open the audit ledger in ${redactConnectionString(url)} (${why}); check WARDEN_AUDIT_DATABASE_URL and that the server is up`,
      );
    }
  }
  const file = config.audit.sqliteFile;
  if (!create && !fs.existsSync(file)) {
    throw new UserError(
      `no audit ledger at ${file}: nothing has been recorded yet, or WARDEN_DATA_DIR points elsewhere (a fleet's ledger needs WARDEN_AUDIT_DATABASE_URL)`,
    );
  }
  try {
    return SqliteAuditStore.open({ file, create });
  } catch (err) {
    throw new UserError(`cannot open the audit ledger ${file}: ${(err as Error).message}`);
  }
}

function scrub(message: string, url: string): string {
  let out = message.split(url).join(redactConnectionString(url));
  try {
    const pw = decodeURIComponent(new URL(url).password);
    if (pw) out = out.split(pw).join('***');
  } catch {
    // not a URL: nothing more to hide
  }
  return out;
}
