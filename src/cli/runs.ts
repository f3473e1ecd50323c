import os from 'node:os';
import fs from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { UserError } from '../errors';
import { WORKFLOW_CATALOG } from '../workflows/catalog';
import { withClient } from './client';
import { loadConfig } from '../config';
import type { Signer } from '../identity/keyring';
import { loadSigner } from '../identity/keyring';
import type { CliIO } from './output';
import { json, keyValues, table } from './output';
import { statusJson, statusText } from './run-report';

async function readInput(source: string | undefined, io: CliIO): Promise<unknown> {
  if (source === undefined) return {};
  let text: string;
  if (source === '-') text = await io.readStdin();
  else {
    try {
      text = fs.readFileSync(source, 'utf8');
    } catch (err) {
      throw new UserError(`cannot read input file ${source} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  const yaml = /\.ya?ml$/i.test(source);
  try {
    return yaml ? (YAML.parse(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (err) {
    throw new UserError(
      `input ${source === '-' ? '(stdin)' : source} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message} — no run was started`,
    );
  }
}

const STATUS_FILTERS: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
  terminated: 'Terminated',
  timedout: 'TimedOut',
};

/** The initiator's signing key, or undefined (with a warning: the run's initiator will be unverified). */
function startSigner(initiator: string, io: CliIO): Signer | undefined {
  try {
    return loadSigner(loadConfig().keysDir, initiator);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(
      `warden: warning: ${err.message}; the run starts with an unverified initiator and its approvals will be refused`,
    );
    return undefined;
  }
}

/** `warden run`, `warden status`, `warden ls`. */
export function registerRunCommands(program: Command, io: CliIO): void {
  program
    .command('run')
    .description(`start a workflow run (${Object.keys(WORKFLOW_CATALOG).join(', ')})`)
    .argument('<workflow>', 'workflow type')
    .option('-i, --input <file|->', 'JSON or YAML input file, or - for stdin')
    .option('-p, --playbook <file>', 'runPlaybook: the playbook (YAML/JSON); --input then holds the playbook input')
    .option('--id <workflowId>', 'workflow id (a business key makes the start idempotent)')
    .option('--as <user>', 'who starts the run (signs with your key; may not approve its actions)')
    .option('-w, --wait', 'wait for the run to finish and print its result')
    .option('--json', 'machine-readable output')
    .action(
      async (
        workflow: string,
        opts: { input?: string; playbook?: string; id?: string; as?: string; wait?: boolean; json?: boolean },
      ) => {
        let input = await readInput(opts.input, io);
        if (opts.playbook) {
          if (workflow !== 'runPlaybook') throw new UserError('--playbook goes with `warden run runPlaybook`');
          input = { playbook: await readInput(opts.playbook, io), input };
        }
        const initiator = opts.as ?? os.userInfo().username;
        const signer = workflow === 'runPlaybook' ? startSigner(initiator, io) : undefined;
        await withClient(async (client) => {
          const started = await client.start(workflow, input, {
            workflowId: opts.id,
            initiator,
            ...(signer ? { signer } : {}),
          });
          const result = opts.wait ? await client.result(started.workflowId) : undefined;
          if (opts.json) io.out(json({ ...started, ...(opts.wait ? { result } : {}) }));
          else {
            io.out(keyValues({ started: workflow, workflowId: started.workflowId, runId: started.runId }));
            if (opts.wait) io.out(`result:\n${json(result)}`);
            else io.out(`\nfollow it with: warden status ${started.workflowId}`);
          }
        });
      },
    );

  program
    .command('status')
    .description('show one run: its steps, what it waits for (with the evidence) and why it failed')
    .argument('<workflowId>')
    .option('--json', 'machine-readable output')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const report = await client.report(workflowId);
        io.out(opts.json ? json(statusJson(report)) : statusText(report));
      });
    });

  program
    .command('ls')
    .description('list recent runs, newest first')
    .option('-n, --limit <n>', 'how many', '20')
    .option('-s, --status <status>', `only runs in this state (${Object.keys(STATUS_FILTERS).join('|')})`)
    .option('-t, --type <workflow>', 'only runs of this workflow type')
    .option('--json', 'machine-readable output')
    .action(async (opts: { limit: string; status?: string; type?: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UserError(`--limit must be a positive integer, got "${opts.limit}"`);
      const clauses: string[] = [];
      if (opts.status) {
        const s = STATUS_FILTERS[opts.status.toLowerCase()];
        if (!s)
          throw new UserError(
            `unknown --status "${opts.status}" — use one of ${Object.keys(STATUS_FILTERS).join(', ')}`,
          );
        clauses.push(`ExecutionStatus = "${s}"`);
      }
      if (opts.type) {
        if (!/^[A-Za-z0-9_-]+$/.test(opts.type))
          throw new UserError(`--type must be a workflow type name, got "${opts.type}"`);
        clauses.push(`WorkflowType = "${opts.type}"`);
      }
      await withClient(async (client) => {
        const runs = await client.list({ limit, query: clauses.join(' AND ') || undefined });
        io.out(
          opts.json
            ? json(runs)
            : table(runs as unknown as Record<string, unknown>[], [
                'workflowId',
                'type',
                'status',
                'startTime',
                'closeTime',
              ]),
        );
      });
    });
}
