import { PostgresAuditStore } from '../../src/audit';
import type { TestPostgres } from '../harness/postgres';
import { startPostgres } from '../harness/postgres';
import { describeAuditStore } from './store-suite';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

describeAuditStore('PostgreSQL', () => ({
  fresh: async (opts) => {
    const url = await pg.freshDatabase();
    const open = () =>
      PostgresAuditStore.open({ connectionString: url, poolSize: 4, ...(opts?.now ? { now: opts.now } : {}) });
    return { store: await open(), connect: open };
  },
}));

describe('PostgreSQL audit store', () => {
  it('creates its schema once when a fleet starts at the same moment', async () => {
    const url = await pg.freshDatabase();
    const stores = await Promise.all([1, 2, 3, 4].map(() => PostgresAuditStore.open({ connectionString: url })));
    await Promise.all(
      stores.map((s, i) =>
        s.append({
          idempotencyKey: `k${i}`,
          workflowId: 'w',
          type: 'run.started',
          actor: { kind: 'system', id: 'warden' },
        }),
      ),
    );
    expect((await stores[0]!.list()).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('says where it is without the password, and refuses to create tables when asked to only read', async () => {
    const url = await pg.freshDatabase();
    await expect(PostgresAuditStore.open({ connectionString: url, create: false })).rejects.toThrow(
      /table audit_records does not exist/,
    );
    const store = await PostgresAuditStore.open({ connectionString: url });
    expect(store.location).toMatch(/^postgres:\/\/127\.0\.0\.1:\d+\/warden_test_/);
    expect(store.location).not.toContain(new URL(url).password);
    await store.close();
  });
});
