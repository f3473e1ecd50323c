import type { ScheduleDeclaration } from '../contract';
import { POLL_PLAYBOOK } from './trigger';

/**
 * One poll schedule per ticket system, every 5 minutes, created paused (`warden schedule sync` leaves it to
 * the operator to unpause the ones whose system is configured). Temporal's default overlap policy (skip)
 * means a slow poll is never run twice at once; the cursor's compare-and-set covers a manual trigger.
 */
export const ticketSchedules: ScheduleDeclaration[] = (['servicenow', 'jira'] as const).map((source) => ({
  id: `ticket-poll-${source}`,
  description: `Poll ${source === 'servicenow' ? 'ServiceNow' : 'Jira Service Management'} for new tickets and start their triage`,
  interval: '5m',
  playbook: POLL_PLAYBOOK,
  input: { source },
  enabledByDefault: false,
}));
