import fs from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { UserError } from '../errors';
import { formatIssues } from '../governance/issues';
import type { CliIO } from './output';
import { json, table } from './output';

/** `warden policy check <table>`: the policy the workers would load, against a table of cases. */
export function registerPolicyCommands(program: Command, io: CliIO): void {
  const policy = program.command('policy').description('check the policy the workers load');
  policy
    .command('check <table>')
    .description(
      'decide every case of a table (YAML/JSON: name, tool, args, input or facts, run, expect) with the policy the ' +
        'workers would load; flag rules that can never match or that no case exercised; exit 1 on any mismatch',
    )
    .option('--json', 'machine-readable report')
    .action(async (file: string, opts: { json?: boolean }) => {
      // Loaded only for this command: the config, policy, tools and use cases a worker loads.
      const [
        { loadConfig },
        { loadPolicy },
        { PolicyTable, checkPolicy },
        { buildToolRegistry, coreTools },
        registry,
        { createLogger },
      ] = await Promise.all([
        import('../config'),
        import('../runtime/policy-file'),
        import('../governance/policy-check'),
        import('../tools'),
        import('../usecases/registry'),
        import('../telemetry/logger'),
      ]);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        throw new UserError(
          `cannot read the policy table ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        );
      }
      let doc: unknown;
      try {
        doc = YAML.parse(text);
      } catch (err) {
        throw new UserError(`${file} is not valid YAML/JSON: ${(err as Error).message}`);
      }
      const parsed = PolicyTable.safeParse(doc);
      if (!parsed.success)
        throw new UserError(
          `${file} is not a policy table (a list of {name, tool, args, input|facts, run, expect: {effect, tier?, rule?}}): ${formatIssues(parsed.error, '(table)')}`,
        );
      const cases = Array.isArray(parsed.data) ? parsed.data : parsed.data.cases;
      const config = loadConfig();
      const logger = createLogger({ level: 'warn' });
      const policy = loadPolicy(config);
      // The MCP servers' tools too (WARDEN_MCP_SERVERS_FILE), classified and pinned as the workers see them.
      const { connectMcpTools } = await import('../mcp');
      const { createSecretStore } = await import('../credentials/from-config');
      const mcp = await connectMcpTools({
        config,
        policy: policy.document,
        logger,
        secrets: { get: (name) => createSecretStore(config).store.get(name) },
      });
      const report = await checkPolicy(
        policy,
        buildToolRegistry(coreTools(config), registry.useCaseTools(config, logger), mcp.tools),
        registry.useCaseFactsProviders(config, logger),
        cases,
      ).finally(() => mcp.close());
      if (opts.json) io.out(json(report));
      else {
        io.out(
          table(
            report.results.map((r) => ({ ok: r.ok ? 'ok' : 'FAIL', case: r.name, expected: r.expected, got: r.got })),
            ['ok', 'case', 'expected', 'got'],
          ),
        );
        for (const f of report.findings)
          io.out(`${f.kind === 'never' ? 'can never match' : 'not exercised'}: rule ${f.ruleId} — ${f.why}`);
        io.out(`${report.passed} passed, ${report.failed} failed (policy ${report.policyVersion.slice(0, 12)})`);
      }
      if (report.failed > 0)
        throw new UserError(`${report.failed} of ${report.results.length} case(s) did not get the expected decision`);
    });
}
