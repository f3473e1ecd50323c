/** Largest run result returned (Temporal refuses a payload over 2 MB; this leaves room for the encoding). */
export const RESULT_MAX_CHARS = 1_500_000;

/**
 * Why a run result cannot be returned, or undefined when it fits: Temporal refuses the completion of a
 * workflow whose result is over its payload limit and retries the task for ever, so the run must fail
 * instead, saying which output to shrink. Every step has run and is audited by then.
 */
export function oversizedResult<T extends { outputs: Record<string, unknown> }>(result: T): string | undefined {
  const chars = JSON.stringify(result).length;
  if (chars <= RESULT_MAX_CHARS) return undefined;
  const largest = Object.entries(result.outputs)
    .map(([stepId, out]) => [stepId, JSON.stringify(out ?? null).length] as const)
    .sort((a, b) => b[1] - a[1])[0];
  return (
    `the run's result is ${(chars / 1e6).toFixed(1)} MB, over the ${RESULT_MAX_CHARS / 1e6} MB a run can return ` +
    `(Temporal's payload limit)${largest ? `; the largest output is step ${largest[0]}'s (${(largest[1] / 1e6).toFixed(1)} MB)` : ''}. ` +
    'Every step ran and is in the audit ledger. Return less: `collect: failures` on a large forEach, or ' +
    'write bulky outputs to a case or a ticket instead of the run result'
  );
}
