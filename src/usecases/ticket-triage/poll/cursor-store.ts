import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { PollCursor } from '../connectors/itsm';

/**
 * The durable high-water mark of each ticket source's poll, in a small SQLite table in the data directory.
 * A cursor moves only forward and only by compare-and-set against the value the poll started from, after
 * that poll's runs were started: a crash before the move re-delivers the same tickets next time, and since
 * starts are idempotent (workflow id = ticket) that is harmless; two polls racing cannot move it backwards.
 */
export class CursorStore {
  private constructor(private readonly db: Database.Database) {}

  /** Opens (creating if needed) the store at `file`. */
  static open(file: string): CursorStore {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS poll_cursors (
      source TEXT PRIMARY KEY, created_at TEXT NOT NULL, id TEXT NOT NULL, updated_at TEXT NOT NULL)`);
    return new CursorStore(db);
  }

  /** The source's cursor, or null before its first successful poll. */
  get(source: string): PollCursor | null {
    const row = this.db.prepare('SELECT created_at, id FROM poll_cursors WHERE source = ?').get(source) as
      { created_at: string; id: string } | undefined;
    return row ? { createdAt: row.created_at, id: row.id } : null;
  }

  /**
   * Moves the cursor from `from` to `to` when it still is `from`. Returns false (and changes nothing) when
   * another poll moved it meanwhile.
   */
  advance(source: string, from: PollCursor | null, to: PollCursor): boolean {
    return this.db.transaction(() => {
      const now = this.get(source);
      const same =
        now === null ? from === null : from !== null && now.createdAt === from.createdAt && now.id === from.id;
      if (!same) return false;
      this.db
        .prepare(
          `INSERT INTO poll_cursors (source, created_at, id, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(source) DO UPDATE SET created_at = excluded.created_at, id = excluded.id, updated_at = excluded.updated_at`,
        )
        .run(source, to.createdAt, to.id, new Date().toISOString());
      return true;
    })();
  }

  close(): void {
    this.db.close();
  }
}
