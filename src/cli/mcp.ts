import os from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import type { WardenConfig } from '../config';
import { ConfigError, UserError } from '../errors';
import type { CliIO } from './output';
import { json, table } from './output';

/*
 * `warden mcp ls|diff|pin|serve` (docs/mcp.md): review the MCP servers workers use, pin what was reviewed,
 * and serve Warden's governed actions to outside agents.
 */

async function inspect(config: WardenConfig, server?: string) {
  const [{ inspectServers }, { createLogger }, { createSecretStore }] = await Promise.all([
    import('../mcp/inspect'),
    import('../telemetry/logger'),
    import('../credentials/from-config'),
  ]);
  const logger = createLogger({ level: 'silent' });
  const secrets = createSecretStore(config).store;
  return inspectServers(config, logger, secrets, server);
}

function hints(annotations: unknown): string {
  const a = (annotations ?? {}) as { readOnlyHint?: boolean; destructiveHint?: boolean };
  const out: string[] = [];
  if (a.readOnlyHint === true) out.push('read-only');
  if (a.destructiveHint === true) out.push('destructive');
  if (a.readOnlyHint === false && a.destructiveHint === false) out.push('non-destructive');
  return out.length ? `server says: ${out.join(', ')}` : '-';
}

/** Registers `warden mcp`. */
export function registerMcpCommands(program: Command, io: CliIO): void {
  const mcp = program.command('mcp').description('MCP servers as governed tool sources, and Warden as an MCP server');

  mcp
    .command('ls')
    .description('list the configured MCP servers’ tools: Warden name, policy risk, the server’s hints, pin status')
    .argument('[server]', 'one server')
    .option('--json', 'machine-readable output')
    .action(async (server: string | undefined, opts: { json?: boolean }) => {
      const config = loadConfig();
      const [{ loadPolicy }, { wardenToolName, mcpLabel }, { neutralizeUntrusted }] = await Promise.all([
        import('../runtime/policy-file'),
        import('../mcp/names'),
        import('../governance/untrusted'),
      ]);
      const policy = loadPolicy(config).document;
      const reports = await inspect(config, server);
      const rows = reports.flatMap((r) =>
        r.error
          ? [
              {
                tool: `mcp:${r.server}/*`,
                name: '-',
                risk: '-',
                hints: '-',
                pin: `unreachable: ${neutralizeUntrusted(r.error, 120)}`,
              },
            ]
          : r.tools.map((t) => {
              const cmp = r.comparison!;
              const pin =
                cmp.status === 'unpinned' || cmp.added.includes(t.name)
                  ? 'unpinned'
                  : cmp.changed.includes(t.name)
                    ? 'CHANGED'
                    : 'pinned';
              return {
                tool: mcpLabel(r.server, t.name),
                name: wardenToolName(r.server, t.name),
                risk: policy.mcp?.[r.server]?.[t.name]?.risk ?? 'unclassified (denied)',
                hints: hints(t.annotations),
                pin,
                description: neutralizeUntrusted(t.description ?? '', 200),
              };
            }),
      );
      if (opts.json) return io.out(json(rows));
      io.out(table(rows, ['tool', 'name', 'risk', 'pin', 'hints']));
      if (reports.some((r) => r.comparison && r.comparison.status !== 'pinned'))
        io.err(
          'warden: unpinned or changed servers are refused: review with `warden mcp diff`, then `warden mcp pin <server>`',
        );
    });

  mcp
    .command('diff')
    .description('what changed in each server’s tools since they were pinned (exit 1 when anything did)')
    .argument('[server]', 'one server')
    .option('--json', 'machine-readable output')
    .action(async (server: string | undefined, opts: { json?: boolean }) => {
      const config = loadConfig();
      const [{ readPins, changedFields }, { neutralizeUntrusted }] = await Promise.all([
        import('../mcp/pins'),
        import('../governance/untrusted'),
      ]);
      const pins = readPins(config.mcp.pinsFile);
      const reports = await inspect(config, server);
      const rows: Record<string, unknown>[] = [];
      for (const r of reports) {
        if (r.error) {
          rows.push({ server: r.server, tool: '*', change: 'unreachable', detail: neutralizeUntrusted(r.error, 120) });
          continue;
        }
        const cmp = r.comparison!;
        if (cmp.status === 'unpinned')
          rows.push({ server: r.server, tool: '*', change: 'never pinned', detail: `${r.tools.length} tools` });
        else {
          const defs = pins.servers[r.server]?.definitions ?? {};
          for (const t of cmp.changed) {
            const now = r.tools.find((x) => x.name === t)!;
            rows.push({
              server: r.server,
              tool: t,
              change: 'changed',
              detail: changedFields(defs[t], now).join(', '),
              description: neutralizeUntrusted(now.description ?? '', 200),
            });
          }
          for (const t of cmp.added) rows.push({ server: r.server, tool: t, change: 'added (unpinned)', detail: '' });
          for (const t of cmp.removed) rows.push({ server: r.server, tool: t, change: 'removed', detail: '' });
        }
      }
      if (opts.json) io.out(json(rows));
      else io.out(rows.length ? table(rows, ['server', 'tool', 'change', 'detail']) : 'no changes since the pins');
      if (rows.length) throw new UserError(`${rows.length} difference(s) from ${config.mcp.pinsFile}`);
    });

  mcp
    .command('pin')
    .description('pin a server’s current tool definitions (review them first: `warden mcp diff`); commit the pins file')
    .argument('<server>', 'the server to pin')
    .option('--as <user>', 'who reviewed them (recorded in the file)', os.userInfo().username)
    .action(async (server: string, opts: { as: string }) => {
      const config = loadConfig();
      const { readPins, writePins, pinServer, comparePins } = await import('../mcp/pins');
      const [report] = await inspect(config, server);
      if (!report || report.error)
        throw new UserError(`cannot list the tools of ${server}: ${report?.error ?? 'no answer'}`);
      const pins = readPins(config.mcp.pinsFile);
      const before = comparePins(pins, server, report.tools);
      pins.servers[server] = pinServer(report.tools, opts.as);
      writePins(config.mcp.pinsFile, pins);
      io.out(
        `warden: pinned ${report.tools.length} tools of ${server} in ${config.mcp.pinsFile}` +
          (before.status === 'unpinned'
            ? ''
            : ` (changed: ${before.changed.join(', ') || 'none'}; added: ${before.added.join(', ') || 'none'}; removed: ${before.removed.join(', ') || 'none'})`),
      );
      io.err('warden: policy must still classify each tool (mcp.<server>.<tool>.risk) before it can run');
    });

  mcp
    .command('serve')
    .description(
      'serve governed actions to outside agents over MCP: stdio (default) or Streamable HTTP with API tokens',
    )
    .option('--http', 'Streamable HTTP on WARDEN_HTTP_HOST:WARDEN_MCP_PORT at /mcp (callers send a Warden API token)')
    .option('--port <port>', 'HTTP port (overrides WARDEN_MCP_PORT)')
    .action(async (opts: { http?: boolean; port?: string }) => {
      const config = loadConfig();
      const [{ WardenClient }, { createLogger }, serve, offer] = await Promise.all([
        import('../client'),
        import('../telemetry/logger'),
        import('../mcp/serve'),
        import('../mcp/offer'),
      ]);
      // On stdio, standard output is the protocol: logs go to standard error.
      const logger = createLogger({ level: config.logLevel, stream: process.stderr });
      const client = await WardenClient.connect(config, { attestAs: 'mcp' });
      const offered = offer.wardenMcpOffer(config, logger);
      try {
        if (!opts.http) {
          await serve.serveStdio({
            client,
            caller: { id: os.userInfo().username, scopes: ['runs:read', 'runs:start'] },
            offer: offered,
          });
          return;
        }
        const port = opts.port !== undefined ? Number(opts.port) : config.mcp.serve.port;
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new ConfigError([`--port ${opts.port} is not a port number`]);
        const { httpApiAccess } = await import('../triggers/api-auth-config');
        const access = httpApiAccess(config);
        const server = serve.createMcpHttpServer({ client, offer: offered, logger, ...access.server });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, config.http.host, () => resolve());
        });
        const addr = server.address();
        io.out(
          `warden: MCP server on http://${config.http.host}:${typeof addr === 'object' && addr ? addr.port : port}${serve.MCP_HTTP_PATH}`,
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        await new Promise<void>((resolve) => server.close(() => resolve()));
        access.close();
      } finally {
        await client.close();
      }
    });
}
