import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KnowledgeIndex } from '../../../../src/usecases/ticket-triage/knowledge/knowledge-index';
import { toMatchQuery } from '../../../../src/usecases/ticket-triage/knowledge/fts-query';
import { SAMPLE_KB_DIR } from '../../../../src/usecases/ticket-triage/options';

describe('knowledge index (SQLite FTS5, BM25)', () => {
  let dir: string;
  let kb: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-kb-'));
    kb = path.join(dir, 'kb');
    fs.mkdirSync(path.join(kb, 'network'), { recursive: true });
    fs.writeFileSync(
      path.join(kb, 'network', 'vpn.md'),
      '# Connect to the VPN\n\nInstall the VPN client and use portal vpn.example.com.\n',
    );
    fs.writeFileSync(
      path.join(kb, 'printer.md'),
      '---\ntitle: Add a printer\ntags: [printing]\n---\nPrint to the FollowMe queue, badge to release.\n',
    );
    // BM25's IDF needs a corpus: with two articles a word in one of them carries no weight.
    fs.writeFileSync(
      path.join(kb, 'laptop.md'),
      '# Laptop broken\n\nA cracked screen or a battery fault: the desktop team swaps it.\n',
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds the article a ticket is about, with its path, title, a snippet and a score', () => {
    const index = KnowledgeIndex.open(path.join(dir, 'k.db'), kb);
    const hits = index.search('Hi, how do I connect to the vpn from home? thanks');
    expect(hits[0]).toMatchObject({
      path: 'network/vpn.md',
      title: 'Connect to the VPN',
      snippet: expect.stringContaining('«VPN»'),
    });
    expect(hits[0]!.score).toBeGreaterThan(0);
    expect(index.search('how do I print to the printer queue')[0]).toMatchObject({
      path: 'printer.md',
      title: 'Add a printer',
    });
    expect(index.search('zebra giraffe')).toEqual([]);
    index.close();
  });

  it('re-indexes a changed article, indexes a new one and forgets a deleted one', () => {
    const index = KnowledgeIndex.open(path.join(dir, 'k.db'), kb, { resyncMs: 0 });
    expect(index.search('hotspot')).toEqual([]);
    fs.writeFileSync(
      path.join(kb, 'network', 'vpn.md'),
      '# Connect to the VPN\n\nOn hotel Wi-Fi use your phone hotspot.\n',
    );
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(path.join(kb, 'network', 'vpn.md'), later, later);
    fs.writeFileSync(path.join(kb, 'mail.md'), '# Outlook on your phone\n\nInstall Outlook.\n');
    fs.rmSync(path.join(kb, 'printer.md'));
    expect(index.sync()).toEqual({ added: 1, updated: 1, removed: 1, unchanged: 1 });
    expect(index.search('hotspot')[0]!.path).toBe('network/vpn.md');
    expect(index.search('outlook phone')[0]!.path).toBe('mail.md');
    expect(index.search('FollowMe badge')).toEqual([]);
    expect(index.sync()).toEqual({ added: 0, updated: 0, removed: 0, unchanged: 3 });
    index.close();
  });

  it('keeps its index across restarts and only re-reads what changed', () => {
    KnowledgeIndex.open(path.join(dir, 'k.db'), kb).close();
    const again = KnowledgeIndex.open(path.join(dir, 'k.db'), kb);
    expect(again.sync()).toEqual({ added: 0, updated: 0, removed: 0, unchanged: 3 });
    again.close();
  });

  it('treats ticket text as words only: FTS5 syntax in it can neither break nor steer the query', () => {
    const index = KnowledgeIndex.open(path.join(dir, 'k.db'), kb);
    for (const hostile of [
      'title:vpn OR body:*',
      '"unterminated',
      'NEAR(vpn printer) -- ; DROP TABLE kb_fts',
      '*',
      ')))',
    ])
      expect(() => index.search(hostile)).not.toThrow();
    expect(toMatchQuery('NEAR(vpn "x") title:foo*')).toBe('"near" OR "vpn" OR "title" OR "foo"');
    expect(index.search('title:vpn')[0]!.path).toBe('network/vpn.md');
    index.close();
  });

  it('remembers tickets and finds similar ones, never the ticket itself', () => {
    const index = KnowledgeIndex.open(path.join(dir, 'k.db'), kb);
    const base = { status: 'New', createdAt: '2026-01-01T00:00:00Z', description: '' };
    index.rememberTicket({
      ...base,
      system: 'jira',
      id: '1',
      number: 'ITSD-1',
      subject: 'VPN keeps disconnecting at home',
    });
    index.rememberTicket({ ...base, system: 'jira', id: '2', number: 'ITSD-2', subject: 'Printer on floor 3 jammed' });
    index.rememberTicket({
      ...base,
      system: 'servicenow',
      id: 'a',
      number: 'INC1',
      subject: 'VPN disconnecting every hour',
    });
    const similar = index.similarTickets('VPN disconnecting every hour', { system: 'servicenow', id: 'a' });
    expect(similar.map((s) => s.number)).toEqual(['ITSD-1']);
    index.close();
  });

  it('indexes the bundled sample knowledge base', () => {
    const index = KnowledgeIndex.open(path.join(dir, 'k.db'), SAMPLE_KB_DIR);
    expect(index.sync().unchanged).toBeGreaterThanOrEqual(10);
    expect(index.search('I forgot my password and it expired')[0]!.path).toBe('password-reset.md');
    expect(index.search('my account is locked out')[0]!.path).toBe('account-unlock.md');
    index.close();
  });

  it('refuses a knowledge folder that does not exist, naming the setting', () => {
    expect(() => KnowledgeIndex.open(path.join(dir, 'k.db'), path.join(dir, 'missing'))).toThrow(
      /WARDEN_TICKETS_KB_DIR/,
    );
  });
});
