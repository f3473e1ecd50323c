import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { freePort } from '../../src/runtime/dev-server';

/** Project root. */
const ROOT = path.resolve(__dirname, '..', '..');

/** The filesystem MCP server from npm, as a stdio command serving `dir`. */
export function filesystemServer(dir: string): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [path.join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js'), dir],
  };
}

/** The hostile test server (test/fixtures/hostile-mcp-server.js) as a stdio command with its state folder. */
export function hostileServer(stateDir: string): { command: string; args: string[]; env: Record<string, string> } {
  return {
    command: process.execPath,
    args: [path.join(ROOT, 'test/fixtures/hostile-mcp-server.js')],
    env: { HOSTILE_STATE_DIR: stateDir, NODE_PATH: path.join(ROOT, 'node_modules') },
  };
}

/** A running MCP server over Streamable HTTP. */
export interface HttpMcpServer {
  url: string;
  close(): Promise<void>;
}

/** Starts @modelcontextprotocol/server-everything over Streamable HTTP on a free loopback port. */
export async function startEverythingServer(): Promise<HttpMcpServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'streamableHttp'],
    { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.resume();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server-everything did not start in 30 s')), 30_000);
    child.stderr?.on('data', (b: Buffer) => {
      if (/listening on port/i.test(b.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`server-everything exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A loopback proxy in front of an MCP server that lets through only requests with the expected credential. */
export interface AuthProxy extends HttpMcpServer {
  /** Authorization headers seen (for assertions), in order. */
  seen: (string | undefined)[];
}

/** Starts an {@link AuthProxy} to `target` requiring `Authorization: Bearer <token>`. */
export async function startAuthProxy(target: string, token: string): Promise<AuthProxy> {
  const seen: (string | undefined)[] = [];
  const to = new URL(target);
  const server = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    const upstream = http.request(
      {
        host: to.hostname,
        port: to.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: to.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}/mcp`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
