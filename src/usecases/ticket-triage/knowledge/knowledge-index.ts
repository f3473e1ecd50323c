import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Ticket } from '../ticket';
import { toMatchQuery } from './fts-query';
import { parseArticle } from './markdown';

/** An article found for a query, with where it is and why it matched. */
export interface KnowledgeHit {
  /** Path relative to the knowledge folder (the citation). */
  path: string;
  title: string;
  /** The best-matching passage, matches between « and ». */
  snippet: string;
  /** BM25 relevance (higher is better; comparable within one query only). */
  score: number;
}

/** A ticket seen before that reads like this one. */
export interface SimilarTicket {
  system: string;
  id: string;
  number: string;
  subject: string;
  status: string;
  createdAt: string;
  score: number;
}

/** What a sync did. */
export interface SyncReport {
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
}

/** Articles larger than this are skipped: a knowledge article is a page, not a manual. */
const MAX_ARTICLE_BYTES = 1_048_576;
const TOKENIZER = "tokenize = 'porter unicode61 remove_diacritics 2'";

function listMarkdown(root: string, dir = root, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    // Symlinks are not followed: the index covers the folder the operator pointed at, nothing outside it.
    if (entry.isDirectory()) listMarkdown(root, full, out);
    else if (entry.isFile() && /\.(md|markdown)$/i.test(entry.name))
      out.push(path.relative(root, full).split(path.sep).join('/'));
  }
  return out;
}

/**
 * An embedded full-text index (SQLite FTS5, BM25 ranking) over a folder of Markdown articles, plus the
 * tickets triage has seen (for "similar tickets"). The folder is indexed when the index opens and again,
 * at most every `resyncMs`, before a search: files whose mtime or size changed are re-read, and re-indexed
 * when their content hash changed; deleted files leave the index. Safe to share between processes (WAL).
 */
export class KnowledgeIndex {
  private lastSync = 0;

  private constructor(
    private readonly db: Database.Database,
    readonly kbDir: string,
    private readonly resyncMs: number,
  ) {}

  /**
   * Opens (creating if needed) the index at `dbFile` for the folder `kbDir`, and indexes it.
   * @throws Error naming the folder when it does not exist.
   */
  static open(dbFile: string, kbDir: string, opts: { resyncMs?: number } = {}): KnowledgeIndex {
    if (!fs.existsSync(kbDir) || !fs.statSync(kbDir).isDirectory())
      throw new Error(
        `knowledge folder ${kbDir} does not exist; set WARDEN_TICKETS_KB_DIR to a folder of Markdown articles`,
      );
    fs.mkdirSync(path.dirname(dbFile), { recursive: true });
    const db = new Database(dbFile);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS kb_files (path TEXT PRIMARY KEY, mtime_ms REAL NOT NULL, size INTEGER NOT NULL,
        sha256 TEXT NOT NULL, fts_rowid INTEGER NOT NULL);
      CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts USING fts5(path UNINDEXED, title, tags, body, ${TOKENIZER});
      CREATE TABLE IF NOT EXISTS seen_tickets (system TEXT NOT NULL, id TEXT NOT NULL, number TEXT NOT NULL,
        subject TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, fts_rowid INTEGER NOT NULL,
        PRIMARY KEY (system, id));
      CREATE VIRTUAL TABLE IF NOT EXISTS tickets_fts USING fts5(subject, body, ${TOKENIZER});
    `);
    const index = new KnowledgeIndex(db, path.resolve(kbDir), opts.resyncMs ?? 5_000);
    index.sync();
    return index;
  }

  /** Brings the index in line with the folder now. Runs in one transaction. */
  sync(): SyncReport {
    const report: SyncReport = { added: 0, updated: 0, removed: 0, unchanged: 0 };
    const files = listMarkdown(this.kbDir);
    const known = new Map(
      (
        this.db.prepare('SELECT path, mtime_ms, size, sha256, fts_rowid FROM kb_files').all() as {
          path: string;
          mtime_ms: number;
          size: number;
          sha256: string;
          fts_rowid: number;
        }[]
      ).map((r) => [r.path, r]),
    );
    const insertFts = this.db.prepare('INSERT INTO kb_fts (path, title, tags, body) VALUES (?, ?, ?, ?)');
    const deleteFts = this.db.prepare('DELETE FROM kb_fts WHERE rowid = ?');
    const upsertFile = this.db.prepare(
      'INSERT INTO kb_files (path, mtime_ms, size, sha256, fts_rowid) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT(path) DO UPDATE SET mtime_ms = excluded.mtime_ms, size = excluded.size, sha256 = excluded.sha256, fts_rowid = excluded.fts_rowid',
    );
    this.db.transaction(() => {
      const rootChanged = this.db.prepare("SELECT value FROM kb_meta WHERE key = 'root'").pluck().get() !== this.kbDir;
      if (rootChanged) {
        // Another folder than last time: nothing indexed before belongs to it.
        this.db.exec('DELETE FROM kb_fts; DELETE FROM kb_files;');
        known.clear();
        this.db.prepare("INSERT OR REPLACE INTO kb_meta (key, value) VALUES ('root', ?)").run(this.kbDir);
      }
      for (const rel of files) {
        const full = path.join(this.kbDir, rel);
        const st = fs.statSync(full);
        const prev = known.get(rel);
        known.delete(rel);
        if (st.size > MAX_ARTICLE_BYTES) continue;
        if (prev && prev.mtime_ms === st.mtimeMs && prev.size === st.size) {
          report.unchanged++;
          continue;
        }
        const text = fs.readFileSync(full, 'utf8');
        const sha256 = createHash('sha256').update(text).digest('hex');
        if (prev && prev.sha256 === sha256) {
          upsertFile.run(rel, st.mtimeMs, st.size, sha256, prev.fts_rowid);
          report.unchanged++;
          continue;
        }
        if (prev) deleteFts.run(prev.fts_rowid);
        const a = parseArticle(text, path.basename(rel));
        const rowid = Number(insertFts.run(rel, a.title, a.tags.join(' '), a.body).lastInsertRowid);
        upsertFile.run(rel, st.mtimeMs, st.size, sha256, rowid);
        if (prev) report.updated++;
        else report.added++;
      }
      for (const gone of known.values()) {
        deleteFts.run(gone.fts_rowid);
        this.db.prepare('DELETE FROM kb_files WHERE path = ?').run(gone.path);
        report.removed++;
      }
    })();
    this.lastSync = Date.now();
    return report;
  }

  private maybeSync(): void {
    if (Date.now() - this.lastSync >= this.resyncMs) this.sync();
  }

  /** The best articles for free text (a ticket), best first. Empty when nothing matches. */
  search(text: string, limit = 3): KnowledgeHit[] {
    this.maybeSync();
    const match = toMatchQuery(text);
    if (!match) return [];
    const rows = this.db
      .prepare(
        `SELECT path, title, snippet(kb_fts, 3, '«', '»', '…', 24) AS snippet, bm25(kb_fts, 0.0, 8.0, 4.0, 1.0) AS rank
         FROM kb_fts WHERE kb_fts MATCH ? ORDER BY rank LIMIT ?`,
      )
      .all(match, limit) as { path: string; title: string; snippet: string; rank: number }[];
    return rows.map((r) => ({
      path: r.path,
      title: r.title,
      snippet: r.snippet,
      score: Number((-r.rank).toPrecision(4)),
    }));
  }

  /** The indexed article at a path (relative to the folder), or undefined. */
  article(relPath: string): { path: string; title: string } | undefined {
    this.maybeSync();
    return this.db
      .prepare(
        'SELECT f.path AS path, t.title AS title FROM kb_files f JOIN kb_fts t ON t.rowid = f.fts_rowid WHERE f.path = ?',
      )
      .get(relPath) as { path: string; title: string } | undefined;
  }

  /** Remembers a ticket for later similarity searches (idempotent: a ticket seen again is updated). */
  rememberTicket(
    t: Pick<Ticket, 'system' | 'id' | 'number' | 'subject' | 'description' | 'status' | 'createdAt'>,
  ): void {
    this.db.transaction(() => {
      const prev = this.db
        .prepare('SELECT fts_rowid FROM seen_tickets WHERE system = ? AND id = ?')
        .pluck()
        .get(t.system, t.id) as number | undefined;
      if (prev !== undefined) this.db.prepare('DELETE FROM tickets_fts WHERE rowid = ?').run(prev);
      const rowid = Number(
        this.db.prepare('INSERT INTO tickets_fts (subject, body) VALUES (?, ?)').run(t.subject, t.description)
          .lastInsertRowid,
      );
      this.db
        .prepare(
          'INSERT OR REPLACE INTO seen_tickets (system, id, number, subject, status, created_at, fts_rowid) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(t.system, t.id, t.number, t.subject, t.status, t.createdAt, rowid);
    })();
  }

  /** Tickets seen before that read most like `text`, best first, never the ticket itself. */
  similarTickets(text: string, self: { system: string; id: string }, limit = 5): SimilarTicket[] {
    const match = toMatchQuery(text);
    if (!match) return [];
    const rows = this.db
      .prepare(
        `SELECT s.system, s.id, s.number, s.subject, s.status, s.created_at AS createdAt, bm25(tickets_fts, 4.0, 1.0) AS rank
         FROM tickets_fts JOIN seen_tickets s ON s.fts_rowid = tickets_fts.rowid
         WHERE tickets_fts MATCH ? AND NOT (s.system = ? AND s.id = ?) ORDER BY rank LIMIT ?`,
      )
      .all(match, self.system, self.id, limit) as (Omit<SimilarTicket, 'score'> & { rank: number })[];
    return rows.map(({ rank, ...r }) => ({ ...r, score: Number((-rank).toPrecision(4)) }));
  }

  close(): void {
    this.db.close();
  }
}
