import type { Command } from 'commander';
import { loadConfig } from '../config';
import { installedUseCases } from '../usecases/registry';
import type { CliIO } from './output';
import { json, table } from './output';

/** `warden usecases`: the installed use cases, whether this configuration enables them, and what each brings. */
export function registerUseCaseCommands(program: Command, io: CliIO): void {
  program
    .command('usecases')
    .description('list the installed use cases and what each registers (WARDEN_USECASES enables them)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const enabled = new Set(loadConfig().usecases.enabled);
      const rows = installedUseCases().map((uc) => ({
        name: uc.name,
        enabled: enabled.has(uc.name),
        agents: (uc.agents ?? []).map((a) => a.name).join(',') || '-',
        playbooks: Object.keys(uc.playbooks ?? {}).join(',') || '-',
        webhooks: uc.webhooks ? (uc.webhooks.sources === '*' ? '*' : uc.webhooks.sources.join(',')) : '-',
        schedules: (uc.schedules ?? []).map((s) => s.id).join(',') || '-',
        settings: Object.keys(uc.settings ?? {}).length,
        description: uc.description,
      }));
      io.out(
        opts.json
          ? json(rows)
          : table(rows, ['name', 'enabled', 'agents', 'playbooks', 'webhooks', 'schedules', 'description']),
      );
    });
}

/** Lets every installed use case add its commands (`useCase.cli`). */
export function registerUseCaseCli(program: Command, io: CliIO): void {
  for (const uc of installedUseCases()) uc.cli?.(program, io);
}
