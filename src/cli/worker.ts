import type { Command } from 'commander';
import { runWorkerProcess } from '../worker';

/** `warden worker`: one fleet worker against TEMPORAL_ADDRESS until SIGTERM. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker against TEMPORAL_ADDRESS (fleet mode; drains on SIGTERM; probes on WARDEN_HEALTH_PORT)')
    .action(async () => {
      await runWorkerProcess();
    });
}
