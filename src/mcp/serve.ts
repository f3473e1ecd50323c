import http from 'node:http';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyRequest } from 'fastify';
import type { WardenClient } from '../client';
import type { Logger } from '../telemetry/logger';
import type { ApiAuthOptions } from '../triggers/api-auth';
import { allowedHostNames, authenticate, hostProblem } from '../triggers/api-auth';
import type { McpCaller, WardenMcpOffer } from './warden-server';
import { createWardenMcpServer } from './warden-server';

/** The path `warden mcp serve --http` answers on. */
export const MCP_HTTP_PATH = '/mcp';

/**
 * Serves one caller over stdio until standard input closes. The caller is the local user who started the
 * process (they hold the configuration and the fleet key); runs record them as initiator, so they cannot
 * approve what their agent requested.
 */
export async function serveStdio(opts: {
  client: WardenClient;
  caller: McpCaller;
  offer: WardenMcpOffer;
}): Promise<void> {
  const server = createWardenMcpServer(opts);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close().catch(() => undefined);
}

/** Options for {@link createMcpHttpServer}. */
export interface McpHttpServerOptions {
  client: WardenClient;
  offer: WardenMcpOffer;
  logger: Logger;
  auth: ApiAuthOptions;
  allowedHosts: string[];
  bindHost: string;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/**
 * Streamable HTTP at POST /mcp, stateless (one MCP server per request, JSON responses). Every request
 * carries `Authorization: Bearer <Warden API token or OIDC token>`; the principal is the caller (scopes
 * runs:read and runs:start gate the tools). Host names are checked like the HTTP API's (DNS rebinding).
 */
export function createMcpHttpServer(opts: McpHttpServerOptions): http.Server {
  const hosts = allowedHostNames(opts.bindHost, opts.allowedHosts);
  const log = opts.logger.child({ component: 'mcp-serve' });
  return http.createServer((req, res) => {
    void (async () => {
      const hostIssue = hostProblem(req.headers.host, hosts);
      if (hostIssue) return sendJson(res, hostIssue.statusCode, { error: hostIssue.error });
      if ((req.url ?? '').split('?')[0] !== MCP_HTTP_PATH)
        return sendJson(res, 404, { error: `MCP is served at ${MCP_HTTP_PATH}` });
      // authenticate() reads only the Authorization header.
      const who = await authenticate({ headers: req.headers } as FastifyRequest, opts.auth);
      if (!('principal' in who))
        return sendJson(
          res,
          who.statusCode,
          { error: who.error },
          who.statusCode === 401 ? { 'www-authenticate': 'Bearer realm="warden"' } : {},
        );
      if (req.method !== 'POST')
        return sendJson(res, 405, { error: 'this server is stateless: send JSON-RPC with POST' }, { allow: 'POST' });
      const server = createWardenMcpServer({
        client: opts.client,
        caller: { id: who.principal.id, scopes: who.principal.scopes },
        offer: opts.offer,
      });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res);
    })().catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'mcp request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error (Warden) — see the server log' });
    });
  });
}
