import * as workflows from '../../src/workflows';
import {
  RunFilterError,
  WARDEN_WORKFLOW_TYPES,
  runsVisibilityQuery,
  visibilityLiteral,
} from '../../src/triggers/run-filters';

const BASE =
  'TaskQueue = "warden" AND WorkflowType IN ("healthCheck", "runPlaybook", "forEachBatch", "governor", "thresholdEntity")';

describe('runs listing filters', () => {
  const now = () => Date.parse('2025-06-01T12:00:00Z');
  const q = (params: Record<string, unknown>) => runsVisibilityQuery(params, { taskQueue: 'warden', now });

  it('names every workflow type the worker registers', () => {
    const exported = Object.entries(workflows)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k)
      .sort();
    expect([...WARDEN_WORKFLOW_TYPES].sort()).toEqual(exported);
  });

  it("always scopes to Warden's task queue and workflow types", () => {
    expect(q({})).toEqual({ query: BASE, limit: 20 });
  });

  it('turns status, type, since and limit into clauses', () => {
    expect(q({ status: 'timed_out', type: 'healthCheck', since: '24h', limit: '7' })).toEqual({
      query: `${BASE} AND ExecutionStatus = "TimedOut" AND WorkflowType = "healthCheck" AND StartTime >= "2025-05-31T12:00:00.000Z"`,
      limit: 7,
    });
    expect(q({ since: '2025-01-31' }).query).toBe(`${BASE} AND StartTime >= "2025-01-31T00:00:00.000Z"`);
  });

  it('escapes quotes and backslashes in literals (the task queue comes from configuration)', () => {
    expect(visibilityLiteral('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(runsVisibilityQuery({}, { taskQueue: 'q" OR "1"="1' }).query).toMatch(
      /^TaskQueue = "q\\" OR \\"1\\"=\\"1" AND/,
    );
  });

  it.each([
    [{ query: 'ExecutionStatus = "Running"' }, /^raw visibility queries are not accepted/],
    [{ playbook: 'x' }, /^filtering by playbook is not available/],
    [{ status: 'Running" OR "' }, /^unknown status "Running" OR "" — one of: Running, Completed/],
    [{ type: 'otherApp' }, /^unknown workflow type "otherApp" — one of: healthCheck/],
    [{ since: 'yesterday' }, /^since "yesterday" is neither an ISO date-time .* nor a duration/],
    [{ limit: '0' }, /^limit must be a whole number from 1 to 500, not "0"/],
    [{ status: ['running', 'failed'] }, /^status must be given once/],
    [{ owner: 'me' }, /^unknown query parameter "owner" — accepted: status, type, since, limit/],
  ])('refuses %j', (params, message) => {
    expect(() => q(params)).toThrow(RunFilterError);
    expect(() => q(params)).toThrow(message);
  });
});
