import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { AppendInput } from '../../src/audit';
import { AuditLedger, SqliteAuditStore } from '../../src/audit';
import { createAuditActivities } from '../../src/activities/audit';
import { createLogger } from '../../src/telemetry/logger';
import { testKey } from './ledger-fixture';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-audit-activity-'));
let ledger: AuditLedger;
beforeAll(() => {
  ledger = new AuditLedger({
    store: SqliteAuditStore.open({ file: path.join(root, 'audit.db') }),
    signer: testKey().signer,
    checkpointEvery: 100,
    checkpointIntervalMs: 0,
  });
});
afterAll(async () => {
  await ledger.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const RUN = { workflowId: 'alert-edr-7', runId: '7b6e1f0c-0000-4000-8000-000000000007' };
const rec = (i: number, over: Partial<AppendInput> = {}): AppendInput => ({
  idempotencyKey: `${RUN.runId}/audit/${i}`,
  workflowId: RUN.workflowId,
  runId: RUN.runId,
  type: 'policy.decision',
  actor: { kind: 'system', id: 'warden' },
  data: { decision: 'allow', i },
  ...over,
});

const logged: { level: number; msg: string; reason?: string }[] = [];
const logger = createLogger({
  level: 'warn',
  stream: { write: (line: string) => void logged.push(JSON.parse(line) as (typeof logged)[number]) },
});

function activityOf(execution: { workflowId: string; runId: string }, activityId = 'a1') {
  const env = new MockActivityEnvironment({ workflowExecution: execution, activityId });
  const { appendAudit } = createAuditActivities({ ledger, logger });
  return (records: AppendInput[]) =>
    env.run<[{ records: AppendInput[] }], { seqs: (number | null)[] }, typeof appendAudit>(appendAudit, { records });
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('appendAudit activity', () => {
  it("appends the calling run's records in order, once, however often it is retried", async () => {
    const append = activityOf(RUN);
    const first = await append([rec(0), rec(1), rec(2)]);
    const retried = await append([rec(0), rec(1), rec(2)]);
    expect(retried).toEqual(first);
    expect(first.seqs).toEqual([1, 2, 3]);
    expect((await ledger.store.list({ workflowId: RUN.workflowId })).map((r) => r.idempotencyKey)).toEqual(
      [0, 1, 2].map((i) => `${RUN.runId}/audit/${i}`),
    );
  });

  it("refuses a record naming another workflow or run, or under another run's key, writing nothing of the batch", async () => {
    const others = async () => (await ledger.store.list({ limit: 100_000 })).filter((r) => r.type !== 'audit.refused');
    const before = (await others()).length;
    const cases: AppendInput[][] = [
      [rec(10), rec(11, { workflowId: 'alert-edr-8' })],
      [rec(12, { runId: '00000000-0000-4000-8000-00000000dead' })],
      [rec(13, { runId: undefined })],
      // Its own workflow and run, but a key another run will use: taking it would make that run's append fail.
      [rec(14, { idempotencyKey: '00000000-0000-4000-8000-00000000beef/audit/0' })],
    ];
    for (const [n, records] of cases.entries()) {
      const f = await failure(activityOf(RUN, `refused-${n}`)(records));
      expect(f.type).toBe('ValidationError');
      expect(f.nonRetryable).toBe(true);
      expect(f.message).toMatch(/a run may only append its own records \(nothing was written\)$/);
      expect(f.message).toContain(`sent by workflow ${RUN.workflowId} run ${RUN.runId}`);
    }
    // A workflow impersonating this run from elsewhere is refused the same way.
    const intruder = { workflowId: 'attacker', runId: 'r-attacker' };
    expect((await failure(activityOf(intruder, 'x')([rec(15)]))).message).toMatch(
      /names workflow alert-edr-7 run .* but was sent by workflow attacker run r-attacker/,
    );
    expect((await others()).length).toBe(before);

    // Each refusal is logged and recorded once in the caller's own trail, also when the activity is retried.
    await failure(activityOf(intruder, 'x')([rec(15)]));
    const refusals = (await ledger.store.list({ limit: 100_000 })).filter((r) => r.type === 'audit.refused');
    expect(refusals.map((r) => [r.workflowId, r.runId])).toEqual([
      ...cases.map(() => [RUN.workflowId, RUN.runId]),
      [intruder.workflowId, intruder.runId],
    ]);
    expect(refusals.map((r) => r.data.reason)).toEqual([
      expect.stringMatching(/names workflow alert-edr-8/),
      expect.stringMatching(/run 00000000-0000-4000-8000-00000000dead/),
      expect.stringMatching(/run undefined/),
      expect.stringMatching(/key 00000000-0000-4000-8000-00000000beef\/audit\/0 does not start with the run id/),
      expect.stringMatching(/names workflow alert-edr-7/),
    ]);
    expect(logged.filter((l) => l.msg === 'audit append refused: records of another run')).toHaveLength(6);
  });

  it('refuses invalid records and a reused key as a Warden defect, not retried, writing nothing', async () => {
    const append = activityOf(RUN);
    const before = (await ledger.store.list()).length;
    const bad = await failure(append([rec(20), rec(21, { type: 'Not A Type' })]));
    expect(bad.message).toMatch(/: type: must be dotted lowercase words/);
    expect(bad).toMatchObject({ type: 'ValidationError', nonRetryable: true });
    expect(bad.message).toMatch(/nothing was written \(a Warden defect\): .*dotted lowercase/);
    const reused = await failure(append([rec(0, { type: 'tool.executed' })]));
    expect(reused.message).toMatch(/already names record 1/);
    expect((await ledger.store.list()).length).toBe(before);
  });
});
