import type { ForEachStep, Playbook } from '../../src/governance/steps';

/**
 * A playbook of one forEach step (`each`) over `input.hosts`, one `asset_lookup` action (`lookup`) per item:
 * the fan-out shape the engine tests use. `each` overrides the forEach's settings.
 */
export function hostLookups(
  name: string,
  each: Partial<Omit<ForEachStep, 'id' | 'kind' | 'steps'>> = {},
  lookupOnError: 'fail' | 'continue' = 'fail',
): Playbook {
  return {
    name,
    steps: [
      {
        id: 'each',
        kind: 'forEach',
        items: 'input.hosts',
        concurrency: 5,
        batchSize: 100,
        onItemFailure: 'continue',
        onError: 'fail',
        ...each,
        steps: [
          {
            id: 'lookup',
            kind: 'action',
            tool: 'asset_lookup',
            args: { host: '{{ item }}' },
            context: {},
            onError: lookupOnError,
          },
        ],
      },
    ],
  };
}
