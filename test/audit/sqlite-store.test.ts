import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteAuditStore } from '../../src/audit';
import { describeAuditStore } from './store-suite';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-audit-sqlite-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

describeAuditStore('SQLite', () => ({
  fresh: (opts) => {
    const file = path.join(root, `ledger-${++n}`, 'audit.db');
    const open = () => Promise.resolve(SqliteAuditStore.open({ file, ...(opts?.now ? { now: opts.now } : {}) }));
    return open().then((store) => ({ store, connect: open }));
  },
}));

describe('SQLite audit store file', () => {
  it('is created 0600 in WAL mode, and is not created by readers', async () => {
    const file = path.join(root, 'perm', 'audit.db');
    expect(() => SqliteAuditStore.open({ file, create: false })).toThrow();
    expect(fs.existsSync(file)).toBe(false);
    const store = SqliteAuditStore.open({ file });
    await store.append({
      idempotencyKey: 'k',
      workflowId: 'w',
      type: 'run.started',
      actor: { kind: 'human', id: 'a' },
    });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    await store.close();
  });
});
