import type { Command } from 'commander';
import { loadConfig } from '../config';

/** `warden worker`: one fleet worker against TEMPORAL_ADDRESS until SIGTERM. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker against TEMPORAL_ADDRESS (fleet mode; drains on SIGTERM; probes on WARDEN_HEALTH_PORT)')
    .action(async () => {
      const config = loadConfig();
      // A bad policy fails the start-up before the Temporal SDK is even loaded (seconds on a busy machine).
      const { loadPolicy } = await import('../runtime/policy-file');
      loadPolicy(config);
      const { runWorkerProcess } = await import('../worker');
      await runWorkerProcess(config);
    });
}
