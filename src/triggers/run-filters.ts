import ms from 'ms';

/**
 * Every workflow type Warden's worker registers (the exports of src/workflows/index.ts; a test keeps the
 * two in step). The runs API lists only these, on Warden's own task queue.
 */
export const WARDEN_WORKFLOW_TYPES = ['healthCheck', 'runPlaybook', 'forEachBatch', 'governor', 'thresholdEntity'];

/** Execution statuses a caller may filter on (`status=running`), by their Temporal visibility names. */
export const RUN_STATUSES: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
  terminated: 'Terminated',
  continuedasnew: 'ContinuedAsNew',
  timedout: 'TimedOut',
};

/** A caller's filters on `GET /v1/runs`. */
export interface RunFilters {
  status?: string;
  type?: string;
  /** An ISO date-time, or a duration back from now (`24h`, `7d`). */
  since?: string;
  limit?: string;
}

/** Query parameters `GET /v1/runs` takes. */
export const RUN_FILTER_PARAMS = ['status', 'type', 'since', 'limit'];

/** A bad filter: the message says what was wrong and what to send instead. */
export class RunFilterError extends Error {}

/** A string literal in Temporal's visibility query language, escaped. */
export function visibilityLiteral(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Turns structured filters into a visibility query scoped to Warden's workflows on its task queue.
 * Every value is checked against a closed set or parsed (dates) before it is quoted, so a caller cannot
 * widen the query: there is no raw `query` passthrough.
 * @throws RunFilterError for an unknown parameter or value.
 */
export function runsVisibilityQuery(
  params: Record<string, unknown>,
  opts: { taskQueue: string; now?: () => number },
): { query: string; limit: number } {
  const unknown = Object.keys(params).filter((k) => !RUN_FILTER_PARAMS.includes(k));
  if (unknown.includes('query'))
    throw new RunFilterError(
      'raw visibility queries are not accepted — filter with status, type and since (e.g. /v1/runs?status=running&since=24h)',
    );
  if (unknown.includes('playbook'))
    throw new RunFilterError(
      'filtering by playbook is not available: runs do not record a searchable playbook name yet — filter with status, type and since',
    );
  if (unknown.length)
    throw new RunFilterError(
      `unknown query parameter ${unknown.map((u) => `"${u}"`).join(', ')} — accepted: ${RUN_FILTER_PARAMS.join(', ')}`,
    );
  const one = (name: string): string | undefined => {
    const v = params[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !v.trim()) throw new RunFilterError(`${name} must be given once, non-empty`);
    return v.trim();
  };
  const clauses = [
    `TaskQueue = ${visibilityLiteral(opts.taskQueue)}`,
    `WorkflowType IN (${WARDEN_WORKFLOW_TYPES.map(visibilityLiteral).join(', ')})`,
  ];
  const status = one('status');
  if (status !== undefined) {
    const name = RUN_STATUSES[status.toLowerCase().replace(/[_-]/g, '')];
    if (!name)
      throw new RunFilterError(
        `unknown status "${status}" — one of: ${Object.values(RUN_STATUSES).join(', ')} (any case)`,
      );
    clauses.push(`ExecutionStatus = ${visibilityLiteral(name)}`);
  }
  const type = one('type');
  if (type !== undefined) {
    if (!WARDEN_WORKFLOW_TYPES.includes(type))
      throw new RunFilterError(`unknown workflow type "${type}" — one of: ${WARDEN_WORKFLOW_TYPES.join(', ')}`);
    clauses.push(`WorkflowType = ${visibilityLiteral(type)}`);
  }
  const since = one('since');
  if (since !== undefined) {
    const now = (opts.now ?? Date.now)();
    const back = /^\d+(\.\d+)?\s*[a-z]+$/i.test(since)
      ? (ms(since as ms.StringValue) as number | undefined)
      : undefined;
    const at = back !== undefined && Number.isFinite(back) ? now - back : Date.parse(since);
    if (!Number.isFinite(at))
      throw new RunFilterError(
        `since "${since}" is neither an ISO date-time (2025-01-31T00:00:00Z) nor a duration (30m, 24h, 7d)`,
      );
    clauses.push(`StartTime >= ${visibilityLiteral(new Date(at).toISOString())}`);
  }
  const rawLimit = one('limit');
  const limit = rawLimit === undefined ? 20 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw new RunFilterError(`limit must be a whole number from 1 to 500, not "${rawLimit}"`);
  return { query: clauses.join(' AND '), limit };
}
