import type { Command } from 'commander';
import { loadConfig } from '../config';
import type { DoctorCheck } from '../runtime/doctor-checks';
import type { CliIO } from './output';
import { json } from './output';

export type { DoctorCheck } from '../runtime/doctor-checks';

/** `warden doctor`: checks a deployment end to end; exit 1 when a check fails. */
export function registerDoctorCommand(program: Command, io: CliIO): void {
  program
    .command('doctor')
    .description(
      'check a deployment end to end: Temporal and its namespace, workers polling, policy, ledger, vault, LLM, clock',
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const [{ UserError }, { runDoctor }] = await Promise.all([
        import('../errors'),
        import('../runtime/doctor-checks'),
      ]);
      const checks: DoctorCheck[] = await runDoctor(loadConfig());
      const ok = checks.every((c) => c.status !== 'fail');
      if (opts.json) io.out(json({ ok, checks }));
      else {
        const label = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skipped: 'skip' } as const;
        const width = Math.max(...checks.map((c) => c.name.length));
        for (const c of checks)
          io.out(`${label[c.status]}  ${c.name.padEnd(width)}  ${c.detail}${c.fix ? ` — fix: ${c.fix}` : ''}`);
      }
      if (!ok) {
        const failed = checks.filter((c) => c.status === 'fail').map((c) => c.name);
        throw new UserError(`${failed.length} check${failed.length > 1 ? 's' : ''} failed: ${failed.join(', ')}`);
      }
    });
}
