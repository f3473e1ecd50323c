import type { Command } from 'commander';
import type { AfterApproval, WardenClient } from '../client';
import { UserError } from '../errors';
import { loadSigner } from '../identity/keyring';
import { killSwitchFields } from '../identity/signed-request';
import { loadConfig } from '../config';
import { withClient } from './client';
import type { CliIO } from './output';
import { json, keyValues, table } from './output';
import { approvalLines, viewOf } from './run-report';
import { neutralizeUntrusted } from '../governance/untrusted';

/** A client for one command, with the governor (breakers, kill switch) this configuration answers to. */
function withGovernor<T>(fn: (c: WardenClient, governorId: string) => Promise<T>): Promise<T> {
  return withClient((client, config) => fn(client, config.governance.governorId));
}

function since(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

/** One line on what the approved action did, for `warden approve`. */
function afterApprovalLine(a: AfterApproval, workflowId: string): string {
  const what = a.kind === 'approval' ? 'the run' : 'the action';
  switch (a.outcome) {
    case 'completed':
      return a.kind === 'approval' ? 'the run continues' : `the approved action ran (step ${a.stepId ?? '?'})`;
    case 'failed':
      return `approved, then ${what} failed (step ${a.stepId ?? '?'}): ${a.error?.type ?? 'ToolFailed'}: ${neutralizeUntrusted(a.error?.message ?? '', 500)} — see \`warden status ${workflowId}\``;
    case 'running':
      return `${what} has not finished yet — follow it with \`warden status ${workflowId}\``;
  }
}

/** `warden approvals|approve|reject|pause|resume|cancel|kill-switch`. */
export function registerGovernanceCommands(program: Command, io: CliIO): void {
  program
    .command('approvals')
    .description('list pending approvals across runs, with the evidence to decide on')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const pending = await client.pendingApprovals();
        const now = Date.now();
        if (opts.json) return io.out(json(pending.map((p) => viewOf(p, now))));
        if (!pending.length) return io.out('(no pending approvals)');
        io.out(
          pending
            .map((p) => {
              const [head = '', ...rest] = approvalLines(p, now);
              return [`${head}  (waiting ${since(p.requestedAt)})`, ...rest].join('\n');
            })
            .join('\n\n'),
        );
      });
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision} a pending approval; reports whether the run accepted it`)
      .argument('<workflowId>')
      .argument('<approvalId>')
      .requiredOption('--as <user>', 'your approver id (must be in the tier’s approver groups; signs with your key)')
      .option('--reason <text>', 'why (recorded)')
      .option('--print-signal', 'print the signed `temporal workflow signal` command instead of sending it')
      .option('--json', 'machine-readable output')
      .action(
        async (
          workflowId: string,
          approvalId: string,
          opts: { as: string; reason?: string; json?: boolean; printSignal?: boolean },
        ) => {
          if (opts.reason !== undefined && opts.reason.length > 2000)
            throw new UserError(`--reason is at most 2000 characters (got ${opts.reason.length}); nothing was sent`);
          const config = loadConfig();
          const signer = loadSigner(config.keysDir, opts.as);
          await withClient(async (client) => {
            if (opts.printSignal) {
              const payload = await client.signedDecision(workflowId, approvalId, decision, signer, opts.reason);
              const input = JSON.stringify(payload).replace(/'/g, `'\\''`);
              return io.out(`temporal workflow signal --workflow-id ${workflowId} --name approval --input '${input}'`);
            }
            const attempt = await client.decide(workflowId, approvalId, decision, signer, opts.reason);
            // The final approval unlocks the action: say what became of it, not only that the vote counted.
            const after =
              attempt.outcome === 'accepted' && decision === 'approve' && attempt.reason === 'approved'
                ? await client.afterApproval(workflowId, approvalId)
                : undefined;
            if (opts.json) io.out(json(after ? { ...attempt, afterApproval: after } : attempt));
            if (attempt.outcome === 'refused')
              throw new UserError(`the run refused the ${decision}: ${attempt.reason}`);
            if (!opts.json) {
              io.out(
                `${decision === 'approve' ? 'approval' : 'rejection'} accepted: ${attempt.reason}` +
                  (attempt.approverReason !== undefined
                    ? ` (reason recorded: "${neutralizeUntrusted(attempt.approverReason, 200)}")`
                    : ''),
              );
              if (after) io.out(afterApprovalLine(after, workflowId));
            }
          });
        },
      );
  }

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    program
      .command(action)
      .description(
        action === 'pause'
          ? 'pause a run before its next step'
          : action === 'resume'
            ? 'resume a paused run'
            : 'cancel a run at its next safe point',
      )
      .argument('<workflowId>')
      .option(
        '--as <user>',
        'who is acting (required): signs with your key; must be authorised by the policy’s controls',
      )
      .option('--reason <text>', 'why (recorded)')
      .action(async (workflowId: string, opts: { as?: string; reason?: string }) => {
        const signer = loadSigner(loadConfig().keysDir, actingPrincipal(action, opts.as));
        await withClient(async (client) => {
          const rec = await client.control(workflowId, action, signer, opts.reason);
          if (rec.outcome === 'refused') throw new UserError(`the run refused ${action}: ${rec.note}`);
          io.out(`${action} accepted: ${rec.note}`);
        });
      });
  }

  program
    .command('kill-switch')
    .description('global kill switch: while on, no write or destructive tool executes in any run')
    .argument('<state>', 'on | off | status')
    .option(
      '--as <user>',
      'who is acting (required for on/off): signs with your key; must be authorised by the policy’s controls',
    )
    .option('--reason <text>', 'why (recorded)')
    .option('--json', 'machine-readable output')
    .action(async (stateArg: string, opts: { as?: string; reason?: string; json?: boolean }) => {
      if (!['on', 'off', 'status'].includes(stateArg))
        throw new UserError(`kill-switch takes on, off or status, not "${stateArg}"`);
      const signer =
        stateArg === 'status'
          ? undefined
          : loadSigner(loadConfig().keysDir, actingPrincipal(`kill-switch ${stateArg}`, opts.as));
      await withGovernor(async (client, governorId) => {
        const governor = client.governor(governorId);
        if (signer) {
          const body = {
            engaged: stateArg === 'on',
            by: signer.principal,
            ...(opts.reason ? { reason: opts.reason } : {}),
          };
          const outcome = await governor.setKillSwitch({
            ...body,
            signature: signer.sign('kill-switch', killSwitchFields(governorId, body)),
          });
          if (outcome.startsWith('refused')) throw new UserError(`the governor ${outcome}`);
        }
        const state = await governor.state(true);
        if (opts.json) return io.out(json(state));
        const k = state.killSwitch;
        io.out(
          keyValues({
            killSwitch: state.restoring
              ? 'unknown (the governor is restoring its state; writes are held)'
              : k.engaged
                ? 'ON'
                : 'off',
            by: k.by,
            reason: k.reason,
            since: k.since,
          }),
        );
        const breakers = Object.entries(state.breakers).filter(
          ([, b]) => b.state !== 'closed' || b.consecutiveFailures > 0,
        );
        if (breakers.length) {
          io.out('\nbreakers:');
          io.out(
            table(
              breakers.map(([integration, b]) => ({
                integration,
                ...b,
                openUntil: b.openUntil ? new Date(b.openUntil).toISOString() : undefined,
              })),
              ['integration', 'state', 'consecutiveFailures', 'openUntil'],
            ),
          );
        }
      });
    });
}

/**
 * The principal a control is signed as: named explicitly with `--as`, never guessed from the OS account
 * (a login name is not a Warden identity, and the ledger must record who really acted).
 */
function actingPrincipal(what: string, as: string | undefined): string {
  if (!as)
    throw new UserError(`${what} needs --as <you>: the principal whose key signs it (warden keys init --as <you>)`);
  return as;
}
