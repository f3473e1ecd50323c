import type { Command } from 'commander';

/** `warden worker`: one fleet worker against TEMPORAL_ADDRESS until SIGTERM. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker against TEMPORAL_ADDRESS (fleet mode; drains on SIGTERM; probes on WARDEN_HEALTH_PORT)')
    .action(async () => {
      const { runWorkerProcess } = await import('../worker');
      await runWorkerProcess();
    });
}
