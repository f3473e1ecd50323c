import { ApplicationFailure } from '@temporalio/workflow';
import type { RunPlaybookResult } from '../../src/workflows/catalog';
import { RESULT_MAX_CHARS, resultThatFits } from '../../src/workflows/run-playbook';

const result = (outputs: Record<string, unknown>): RunPlaybookResult => ({
  status: 'completed',
  outputs,
  steps: [],
  decisions: [],
});

describe('a run result too large for Temporal fails the run clearly instead of leaving it stuck', () => {
  it('returns a result that fits unchanged', () => {
    const r = result({ lookup: { host: 'ws1' } });
    expect(resultThatFits(r)).toBe(r);
  });

  it('refuses one over the limit, naming the size, the largest output and what to do', () => {
    // What a forEach with `collect: all` over thousands of items returns: 2 MB+ of outputs.
    const bulky = Array.from({ length: 4_000 }, (_, i) => ({ index: i, output: { blob: 'x'.repeat(500) } }));
    let thrown: unknown;
    try {
      resultThatFits(result({ small: { ok: true }, each: { total: 4_000, results: bulky } }));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ApplicationFailure);
    const f = thrown as ApplicationFailure;
    expect(f.type).toBe('BudgetExceeded');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/^the run's result is 2\.\d MB, over the 1\.5 MB a run can return/);
    expect(f.message).toMatch(/largest output is step each's/);
    expect(f.message).toMatch(/collect: failures/);
    // The failure itself is small: it can be recorded.
    expect(f.message.length).toBeLessThan(600);
    expect(JSON.stringify(bulky).length).toBeGreaterThan(RESULT_MAX_CHARS);
  });
});
