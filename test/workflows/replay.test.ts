import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { temporal } from '@temporalio/proto';
import { sdkLogger } from '../../src/telemetry/logger';
import { installRuntime } from '../../src/worker';
import { ROOT } from '../harness/cli';
import { HARNESS_ENV } from '../harness/env';
import type { RecordedHistory } from '../harness/histories';
import { loadHistories } from '../harness/histories';
import { memoryLogger } from '../harness/temporal';
import {
  AUDIT_BATCHES_PATCH,
  PATCH_EPOCH_1,
  PATCH_EPOCH_2,
  PATCH_EPOCH_3,
  PATCH_EPOCH_4,
} from '../../src/workflows/engine/patches';

/*
 * Determinism regression test (CONVENTIONS.md item 13): every recorded history under
 * test/fixtures/histories must replay against today's workflow code. A change that fails here would break
 * runs already in flight: guard it with `patched()` instead. Record new fixtures with
 * test/fixtures/record-histories.ts.
 */

async function replay(codePath: string, histories: RecordedHistory[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  const input = histories.map(({ workflowId, history }) => ({ workflowId, history }));
  for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath } }, input)) results.push(r);
  return results;
}

const { EventType } = temporal.api.enums.v1;
const eventTypes = (h: RecordedHistory) => new Set(h.history.events!.map((e) => e.eventType));
const countOf = (h: RecordedHistory, type: temporal.api.enums.v1.EventType) =>
  h.history.events!.filter((e) => e.eventType === type).length;
/** The patch ids a run recorded (Temporal's `core_patch` markers), in order. */
const patchIds = (h: RecordedHistory) =>
  h.history.events!.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_patch') return [];
    const data = m.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });
const signalNames = (h: RecordedHistory) =>
  h.history.events!.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []);

describe('workflow determinism: recorded histories replay against the current code', () => {
  jest.setTimeout(300_000);
  const histories = loadHistories();
  const { logger } = memoryLogger();
  beforeAll(() => installRuntime(logger));

  it('has fixtures covering child batches, approvals, rejections, pause/resume and escalation timers', () => {
    const types = histories.map((h) => h.workflowType);
    expect(types).toEqual(expect.arrayContaining(['runPlaybook', 'forEachBatch']));
    const all = new Set(histories.flatMap((h) => [...eventTypes(h)]));
    expect(all).toContain(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED);
    expect(all).toContain(EventType.EVENT_TYPE_TIMER_FIRED); // approval stage timeouts
    expect(all).toContain(EventType.EVENT_TYPE_MARKER_RECORDED); // policy decisions (local activities)
    expect(all).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
    const signals = histories.flatMap(signalNames);
    expect(signals).toEqual(expect.arrayContaining(['approval', 'control']));
    // Every forEach child is there under its own id, next to its parent.
    for (const child of histories.filter((h) => h.workflowType === 'forEachBatch')) {
      const parent = child.workflowId.split('--')[0]!;
      expect(histories.map((h) => h.workflowId)).toContain(parent);
    }
  });

  it('has runs from before the patch epochs (a marker per patch) and of each epoch (one epoch marker, nothing else)', () => {
    const runs = histories.filter((h) => h.workflowType === 'runPlaybook');
    const perPatch = runs.filter((h) => patchIds(h).includes(AUDIT_BATCHES_PATCH));
    expect(perPatch.length).toBeGreaterThan(0);
    for (const marker of [PATCH_EPOCH_1, PATCH_EPOCH_2, PATCH_EPOCH_3, PATCH_EPOCH_4]) {
      const epoch = runs.filter((h) => patchIds(h).includes(marker));
      expect(epoch.length).toBeGreaterThan(0);
      for (const h of epoch) expect(patchIds(h)).toEqual([marker]);
      // Each patch costs the server a marker and a search-attribute upsert; the epoch run records one of each.
      for (const h of epoch) expect(countOf(h, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)).toBe(1);
    }
  });

  const localActivityTypes = (h: RecordedHistory) =>
    h.history.events!.flatMap((e) => {
      const m = e.markerRecordedEventAttributes;
      if (m?.markerName !== 'core_local_activity') return [];
      const data = m.details?.data?.payloads?.[0]?.data;
      return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string }).activity_type] : [];
    });
  const runsOf = (...epochs: string[]) =>
    histories.filter((h) => h.workflowType === 'runPlaybook' && epochs.some((m) => patchIds(h).includes(m)));

  it('has runs of epoch 2 and later whose allowed reads were decided and made in one local activity', () => {
    const runs = runsOf(PATCH_EPOCH_2, PATCH_EPOCH_3, PATCH_EPOCH_4);
    expect(runs.flatMap(localActivityTypes)).toContain('decideAndRead');
  });

  const activityTypes = (h: RecordedHistory) =>
    h.history.events!.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);

  it('has runs of epoch 4 whose inline forEach decided and read its items in one local activity', () => {
    const types = runsOf(PATCH_EPOCH_4).flatMap(localActivityTypes);
    expect(types).toContain('decideAndReadMany');
    // Runs before epoch 4 never call it: their replay must not meet it.
    expect(runsOf(PATCH_EPOCH_2, PATCH_EPOCH_3).flatMap(localActivityTypes)).not.toContain('decideAndReadMany');
  });

  it('has runs of epoch 4 that flush their audit records through a local activity, and older runs that do not', () => {
    const epoch4 = runsOf(PATCH_EPOCH_4);
    for (const h of epoch4) {
      expect(localActivityTypes(h)).toContain('appendAudit');
      expect(activityTypes(h)).not.toContain('appendAudit');
    }
    for (const h of runsOf(PATCH_EPOCH_2, PATCH_EPOCH_3)) expect(localActivityTypes(h)).not.toContain('appendAudit');
    expect(runsOf(PATCH_EPOCH_3).flatMap(activityTypes)).toContain('appendAudit');
  });

  it('replays every recorded history without a determinism error', async () => {
    const bundle = process.env[HARNESS_ENV.bundle];
    if (!bundle) throw new Error('no workflow bundle (jest globalSetup did not run)');
    const results = await replay(bundle, histories);
    expect(results.map((r) => r.workflowId)).toEqual(histories.map((h) => h.workflowId));
    expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error?.message }))).toEqual(
      histories.map((h) => ({ workflowId: h.workflowId, error: undefined })),
    );
  });

  it('catches an incompatible change: the same histories fail against a runPlaybook that acts differently', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-replay-'));
    try {
      const workflowsPath = path.join(dir, 'workflows.js');
      // An unversioned change: the run now notifies approvers before it asks policy about its first step.
      fs.writeFileSync(
        workflowsPath,
        `const { proxyActivities } = require('@temporalio/workflow');
const { notifyApprovers } = proxyActivities({ startToCloseTimeout: '1 minute' });
exports.runPlaybook = async function runPlaybook() {
  await notifyApprovers({ pending: {}, escalated: false });
  return { status: 'completed' };
};
`,
      );
      const { code } = await bundleWorkflowCode({
        workflowsPath,
        logger: sdkLogger(logger),
        webpackConfigHook: (config) => ({
          ...config,
          resolve: {
            ...config.resolve,
            modules: [...(config.resolve?.modules ?? []), path.join(ROOT, 'node_modules')],
          },
        }),
      });
      const changedPath = path.join(dir, 'bundle.js');
      fs.writeFileSync(changedPath, code);
      const runs = histories.filter((h) => h.workflowType === 'runPlaybook');
      const results = await replay(changedPath, runs);
      expect(results).toHaveLength(runs.length);
      for (const r of results) expect(r.error).toBeInstanceOf(DeterminismViolationError);
      await expect(
        Worker.runReplayHistory({ workflowBundle: { code } }, runs[0]!.history, runs[0]!.workflowId),
      ).rejects.toThrow(DeterminismViolationError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
