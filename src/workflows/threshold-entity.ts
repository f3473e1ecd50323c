import {
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { render } from '../governance/expressions';
import { formatIssues } from '../governance/issues';
import type {
  EntityEvent,
  FireRecord,
  ThresholdEntityInput,
  ThresholdEntityView,
} from '../triggers/threshold-contract';
import {
  ThresholdEventsPayload,
  thresholdEventsSignal,
  thresholdRunId,
  thresholdStateQuery,
} from '../triggers/threshold-contract';
import type { Breach, ThresholdWindowSnapshot } from '../triggers/threshold-window';
import { ThresholdWindow } from '../triggers/threshold-window';
import type { RunPlaybookInput } from './catalog';

/** Events handled per run before continuing as new, so the history stays small whatever the traffic. */
const EVENTS_PER_RUN = 500;

/**
 * The threshold entity of one (rule, key): started by signal-with-start from the event ingest, it keeps
 * the sliding window in Temporal (not in any process), so counting survives worker crashes and works
 * across a fleet. A breach starts a `runPlaybook` run whose workflow id is a function of (rule, key,
 * breach start): a replay or a second entity can never start it twice. Continues as new every 500 events
 * and ends once idle (no window, cooldown or remembered id left). Signal handlers never throw.
 */
export async function thresholdEntity(input: ThresholdEntityInput): Promise<ThresholdEntityView> {
  const { rule, key, keyId } = input;
  const generation = input.carried?.generation ?? 0;
  const window = new ThresholdWindow(rule, input.carried?.window as ThresholdWindowSnapshot | undefined);
  const queue: EntityEvent[] = [];
  const view = (): ThresholdEntityView => ({
    rule: rule.id,
    key,
    pending: window.pendingCount,
    cooldownUntil: window.cooldownEnd ? new Date(window.cooldownEnd).toISOString() : undefined,
    stats: { ...window.stats },
    fires: [...window.fireRecords],
    generation,
  });

  setHandler(thresholdEventsSignal, (raw) => {
    const p = ThresholdEventsPayload.safeParse(raw);
    if (!p.success) {
      window.noteRefused();
      log.warn('threshold entity refused a malformed thresholdEvents payload', {
        problems: formatIssues(p.error, '(payload)'),
      });
      return;
    }
    queue.push(...p.data.events);
  });
  setHandler(thresholdStateQuery, view);

  const fire = async (breach: Breach): Promise<void> => {
    const workflowId = thresholdRunId(rule.id, keyId, breach.start);
    const record: Omit<FireRecord, 'status'> = {
      workflowId,
      breachStart: new Date(breach.start).toISOString(),
      breachEnd: new Date(breach.end).toISOString(),
      count: breach.count,
      eventIds: breach.attached.map((e) => e.id),
      firedAt: new Date().toISOString(),
    };
    let runInput: Record<string, unknown>;
    try {
      const scope = {
        rule: { id: rule.id, description: rule.description ?? null },
        key,
        events: breach.attached,
        breach: { start: record.breachStart, end: record.breachEnd, count: breach.count },
      };
      runInput = render(rule.input, scope) as Record<string, unknown>;
    } catch (err) {
      // A template that fails on this breach's data is the rule author's to fix: record it, keep counting.
      window.recordFire({ ...record, status: 'failed', error: `input template: ${(err as Error).message}` });
      return;
    }
    const args: RunPlaybookInput = {
      playbook: rule.playbook,
      input: runInput,
      initiator: `threshold:${rule.id}`,
      trigger: { type: 'threshold', ref: `${rule.id}/${key}@${record.breachStart}` },
    };
    try {
      await startChild('runPlaybook', {
        workflowId,
        args: [args],
        // The run outlives this entity (which continues as new or ends while the playbook still runs).
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `threshold ${rule.id}: ${breach.count} events for ${key}`.slice(0, 200),
      });
      window.recordFire({ ...record, status: 'started' });
      log.info('threshold breached: run started', { rule: rule.id, key, workflowId, count: breach.count });
    } catch (err) {
      const duplicate = (err as Error).name === 'WorkflowExecutionAlreadyStartedError';
      window.recordFire({ ...record, status: duplicate ? 'duplicate' : 'failed', error: (err as Error).message });
    }
  };

  let handled = 0;
  for (;;) {
    const wait = window.idleAt() - Date.now();
    const woke = wait > 0 ? await condition(() => queue.length > 0, wait) : queue.length > 0;
    if (!woke) {
      // Idle past every horizon: end. A signal arriving meanwhile makes the server reject this completion
      // and redeliver, so no event is lost; the next event for this key starts a fresh entity.
      await condition(allHandlersFinished);
      if (queue.length === 0) return view();
      continue;
    }
    while (queue.length > 0) {
      const e = queue.shift()!;
      handled++;
      const breach = window.add(e, Date.now());
      if (breach) await fire(breach);
    }
    if (handled >= EVENTS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      if (queue.length > 0) continue;
      await continueAsNew<typeof thresholdEntity>({
        rule,
        key,
        keyId,
        carried: { window: window.snapshot(), generation: generation + 1 },
      });
    }
  }
}
