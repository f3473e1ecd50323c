import fs from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { UserError } from '../errors';
import { playbookResolver } from '../triggers/playbook-source';
import { OVERLAP_POLICIES, parseScheduleDefinition } from '../triggers/schedule-spec';
import { readScheduleDeclarations, syncSchedules } from '../triggers/schedule-sync';
import type { ScheduleManager, ScheduleView } from '../triggers/schedules';
import { withClient } from './client';
import type { CliIO } from './output';
import { json, keyValues, table } from './output';

async function withSchedules<T>(fn: (m: ScheduleManager) => Promise<T>): Promise<T> {
  // Loaded per command (with the Temporal client), not when the CLI starts.
  const { ScheduleManager } = await import('../triggers/schedules');
  return withClient((client, config) => fn(new ScheduleManager(client.temporal, config.taskQueue)));
}

/** `--input`: inline JSON, `@file` (JSON or YAML) or `-` (stdin, JSON). */
async function readInput(value: string | undefined, io: CliIO): Promise<Record<string, unknown>> {
  if (value === undefined) return {};
  let text = value;
  let yaml = false;
  if (value === '-') text = await io.readStdin();
  else if (value.startsWith('@')) {
    const file = value.slice(1);
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new UserError(`cannot read input file ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    yaml = /\.ya?ml$/i.test(file);
  }
  let data: unknown;
  try {
    data = yaml ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw new UserError(
      `--input is not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message} — nothing was created`,
    );
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError('--input must be a JSON object (the data the playbook sees as `input`)');
  }
  return data as Record<string, unknown>;
}

function show(io: CliIO, view: ScheduleView, asJson?: boolean): void {
  if (asJson) return io.out(json(view));
  io.out(
    keyValues({
      schedule: view.id,
      description: view.description,
      playbook: view.playbook,
      spec: view.spec,
      state: view.paused ? `paused${view.note ? ` (${view.note})` : ''}` : 'active',
      overlap: view.overlap,
      catchupWindow: view.catchupWindow,
      nextRuns: view.nextRuns.slice(0, 3).join(', ') || '-',
      running: view.running?.join(', ') || undefined,
      actionsTaken: view.actionsTaken,
      recentRuns: view.recentRuns.length ? '' : '-',
    }),
  );
  for (const r of view.recentRuns.slice(-5)) io.out(`  ${r.scheduledAt}  ${r.workflowId}`);
}

/** `warden schedule create|ls|describe|pause|unpause|trigger|delete|sync`: Temporal Schedules of playbooks. */
export function registerScheduleCommands(program: Command, io: CliIO): void {
  const schedule = program
    .command('schedule')
    .description('run playbooks on a schedule (Temporal Schedules, visible on the Web UI Schedules page)');

  schedule
    .command('create')
    .description('create a schedule that runs a playbook (active unless --paused)')
    .argument('<id>', 'schedule id (a business key; runs are named scheduled-<id>-<time>)')
    .requiredOption('-p, --playbook <file|name>', 'playbook file (YAML/JSON) or a bundled playbook name')
    .option('--cron <expr>', 'cron expression, UTC (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--every <duration>', 'interval, e.g. 15m, 24h')
    .option('--overlap <policy>', `when a run is still going: ${Object.keys(OVERLAP_POLICIES).join('|')}`, 'skip')
    .option('--catchup-window <duration>', 'after an outage, start missed runs up to this late', '10m')
    .option('-i, --input <json|@file|->', 'playbook input: inline JSON, @file (JSON/YAML) or - for stdin')
    .option('-d, --description <text>', 'what it is for (shown in ls and the Web UI)')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with its state')
    .option('--json', 'machine-readable output')
    .action(
      async (
        id: string,
        o: {
          playbook: string;
          cron: string[];
          every?: string;
          overlap: string;
          catchupWindow: string;
          input?: string;
          description?: string;
          paused?: boolean;
          note?: string;
          json?: boolean;
        },
      ) => {
        if (!o.cron.length && !o.every) throw new UserError('give --cron <expr> or --every <duration>');
        if (o.cron.length && o.every) throw new UserError('give either --cron or --every, not both');
        const def = parseScheduleDefinition({
          id,
          ...(o.description ? { description: o.description } : {}),
          ...(o.cron.length ? { cron: o.cron } : { every: o.every }),
          overlap: o.overlap,
          catchupWindow: o.catchupWindow,
          paused: Boolean(o.paused),
          ...(o.note ? { note: o.note } : {}),
          playbook: playbookResolver()(o.playbook),
          playbookRef: o.playbook,
          input: await readInput(o.input, io),
        });
        await withSchedules(async (m) => {
          const view = await m.create(def);
          show(io, view, o.json);
          if (!o.json) io.out(`\nstart one run now with: warden schedule trigger ${id}`);
        });
      },
    );

  schedule
    .command('ls')
    .description('list schedules')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      await withSchedules(async (m) => {
        const all = await m.list();
        if (o.json) return io.out(json(all));
        io.out(
          table(
            all.map((s) => ({
              ...s,
              state: s.paused ? 'paused' : 'active',
              next: s.nextRuns[0],
              last: s.recentRuns[s.recentRuns.length - 1]?.scheduledAt,
            })),
            ['id', 'playbook', 'spec', 'state', 'next', 'last'],
          ),
        );
      });
    });

  schedule
    .command('describe')
    .description('show one schedule: spec, policies, state, next and recent runs')
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      await withSchedules(async (m) => show(io, await m.describe(id), o.json));
    });

  for (const verb of ['pause', 'unpause'] as const) {
    schedule
      .command(verb)
      .description(verb === 'pause' ? 'stop starting runs (running ones continue)' : 'resume a paused schedule')
      .argument('<id>')
      .option('--note <text>', 'why (shown with its state)')
      .option('--json', 'machine-readable output')
      .action(async (id: string, o: { note?: string; json?: boolean }) => {
        await withSchedules(async (m) => {
          const view = verb === 'pause' ? await m.pause(id, o.note) : await m.unpause(id, o.note);
          if (o.json) io.out(json(view));
          else io.out(`schedule ${id} ${view.paused ? 'paused' : 'active'}`);
        });
      });
  }

  schedule
    .command('trigger')
    .description('start one run now (even when paused), under the overlap policy')
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      await withSchedules(async (m) => {
        const run = await m.trigger(id);
        if (o.json) return io.out(json({ schedule: id, run: run ?? null }));
        io.out(
          run
            ? `schedule ${id} started ${run.workflowId}\nfollow it with: warden status ${run.workflowId}`
            : `schedule ${id} was triggered, but no run was recorded yet (skipped by the overlap policy, or still starting) — see \`warden schedule describe ${id}\``,
        );
      });
    });

  schedule
    .command('delete')
    .description('delete a schedule (runs it started keep running)')
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      await withSchedules(async (m) => {
        await m.delete(id);
        io.out(o.json ? json({ schedule: id, deleted: true }) : `schedule ${id} deleted`);
      });
    });

  schedule
    .command('sync')
    .description('create or update declared schedules (new ones paused unless enabledByDefault)')
    .requiredOption('-f, --file <file>', 'YAML/JSON file with `schedules: [...]` declarations')
    .option('--json', 'machine-readable output')
    .action(async (o: { file: string; json?: boolean }) => {
      const { declarations, baseDir } = readScheduleDeclarations(o.file);
      await withSchedules(async (m) => {
        const results = await syncSchedules(m, declarations, playbookResolver({ baseDir }));
        io.out(o.json ? json(results) : table(results as unknown as Record<string, unknown>[], ['id', 'outcome']));
      });
    });
}
