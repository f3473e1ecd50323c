import dns from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpRequestTool, HttpRequestRefusedError, isForbiddenAddress } from '../../src/tools/http-request';
import type { HttpRequestConfig, HttpRequestResult } from '../../src/tools/http-request';
import type { ToolContext } from '../../src/tools/types';
import { createLogger } from '../../src/telemetry/logger';

interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface TestServer {
  port: number;
  /** Base URL on 127.0.0.1, without a trailing slash. */
  base: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest) => void;

const servers: TestServer[] = [];

/** A real HTTP server on an ephemeral loopback port that records every request it receives. */
async function startServer(handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      handler(req, res, seen);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handle: TestServer = {
    port,
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(handle);
  return handle;
}

afterEach(async () => {
  jest.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const logger = createLogger({ level: 'silent' });

function makeCtx(signal: AbortSignal = new AbortController().signal): ToolContext {
  return {
    idempotencyKey: 'wf-1/step-1/call-1',
    workflowId: 'wf-1',
    signal,
    logger,
    heartbeat: () => undefined,
    announceWrite: () => Promise.resolve(),
    credential: () => Promise.reject(new Error('http_request declares no capability')),
  };
}

function makeTool(overrides: Partial<HttpRequestConfig> & Pick<HttpRequestConfig, 'allowedHosts'>) {
  return createHttpRequestTool({ timeoutMs: 5_000, maxResponseBytes: 64 * 1024, maxRedirects: 3, ...overrides });
}

/** Runs the tool the way the tool activity does: validate arguments, execute, validate the result. */
async function call(
  tool: ReturnType<typeof createHttpRequestTool>,
  rawArgs: unknown,
  ctx: ToolContext = makeCtx(),
): Promise<HttpRequestResult> {
  const args = tool.input.parse(rawArgs);
  return tool.output.parse(await tool.execute(args, ctx));
}

/** The error a call fails with; fails the test if the call succeeds. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error('expected an Error instance');
  }
  throw new Error('expected the call to fail');
}

/** Resolves *.warden.test names to the given addresses; other names go to the real resolver. */
function fakeDns(addresses: string[]): void {
  const realLookup = dns.lookup.bind(dns) as (...args: unknown[]) => void;
  jest.spyOn(dns, 'lookup').mockImplementation(((
    hostname: string,
    options: dns.LookupOptions,
    callback: (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void,
  ) => {
    if (!hostname.endsWith('.warden.test')) return realLookup(hostname, options, callback);
    const all = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    process.nextTick(() => (options.all ? callback(null, all) : callback(null, all[0]!.address, all[0]!.family)));
  }) as unknown as typeof dns.lookup);
}

describe('http_request tool', () => {
  describe('round trips', () => {
    it('GETs an allowed host and returns status, headers and body', async () => {
      const server = await startServer((_req, res) => {
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.setHeader('x-answer', '42');
        res.end('héllo');
      });
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`] });

      const result = await call(tool, { url: `${server.base}/greeting?lang=fr` });

      expect(result).toEqual({
        status: 200,
        headers: expect.objectContaining({ 'x-answer': '42', 'content-type': 'text/plain; charset=utf-8' }),
        body: 'héllo',
        bytes: Buffer.byteLength('héllo'),
        truncated: false,
      });
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/greeting?lang=fr' });
      expect(server.requests[0]!.headers['idempotency-key']).toBeUndefined();
    });

    it('POSTs a JSON body with the Idempotency-Key and parses a JSON reply', async () => {
      const server = await startServer((_req, res, seen) => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ created: JSON.parse(seen.body) as unknown }));
      });
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`] });

      const result = await call(tool, {
        method: 'POST',
        url: `${server.base}/v1/tickets`,
        body: { title: 'disk full', priority: 2 },
      });

      const seen = server.requests[0]!;
      expect(seen.method).toBe('POST');
      expect(seen.headers['idempotency-key']).toBe('wf-1/step-1/call-1');
      expect(seen.headers['content-type']).toBe('application/json');
      expect(JSON.parse(seen.body)).toEqual({ title: 'disk full', priority: 2 });
      expect(result.status).toBe(201);
      expect(result.json).toEqual({ created: { title: 'disk full', priority: 2 } });
    });

    it("keeps the caller's Idempotency-Key and content type", async () => {
      const server = await startServer((_req, res) => res.end());
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`] });

      await call(tool, {
        method: 'PUT',
        url: `${server.base}/x`,
        headers: { 'Idempotency-Key': 'mine', 'Content-Type': 'text/csv' },
        body: 'a,b\n1,2\n',
      });

      expect(server.requests[0]!.headers['idempotency-key']).toBe('mine');
      expect(server.requests[0]!.headers['content-type']).toBe('text/csv');
      expect(server.requests[0]!.body).toBe('a,b\n1,2\n');
    });

    it('returns a non-2xx response instead of throwing', async () => {
      const server = await startServer((_req, res) => {
        res.writeHead(503, { 'content-type': 'application/problem+json' });
        res.end('{"title":"down"}');
      });
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`] });

      const result = await call(tool, { method: 'DELETE', url: `${server.base}/things/1` });

      expect(result.status).toBe(503);
      expect(result.json).toEqual({ title: 'down' });
    });
  });

  describe('allowlist', () => {
    it('refuses a host that is not in the allowed hosts', async () => {
      const server = await startServer((_req, res) => res.end('secret'));
      const tool = makeTool({ allowedHosts: ['api.example.com'] });

      const err = await failure(call(tool, { url: `${server.base}/admin` }));

      expect(err).toBeInstanceOf(HttpRequestRefusedError);
      expect(err.message).toContain(`host 127.0.0.1:${server.port} is not in the allowed hosts`);
      expect(err.message).toContain('WARDEN_HTTP_ALLOWED_HOSTS');
      expect(server.requests).toHaveLength(0);
    });

    it('refuses a port other than the one an entry names', async () => {
      const server = await startServer((_req, res) => res.end());
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port === 1 ? 2 : server.port - 1}`] });

      await expect(call(tool, { url: `${server.base}/` })).rejects.toThrow(/not in the allowed hosts/);
      expect(server.requests).toHaveLength(0);
    });

    it('matches host names case-insensitively and wildcards on subdomains only', async () => {
      const server = await startServer((_req, res) => res.end('ok'));
      fakeDns(['127.0.0.1']);
      const tool = makeTool({ allowedHosts: [`API.Warden.Test:${server.port}`, '*.Example.test'] });

      const result = await call(tool, { url: `http://api.WARDEN.test:${server.port}/` });

      expect(result.body).toBe('ok');
      // Refused before any connection: "*." covers subdomains, not the apex or look-alike names.
      await expect(call(tool, { url: 'http://example.test/' })).rejects.toThrow(/not in the allowed hosts/);
      await expect(call(tool, { url: 'http://evil-example.test/' })).rejects.toThrow(/not in the allowed hosts/);
    });

    it('rejects an invalid allowed-host entry when the tool is built', () => {
      for (const entry of ['*', 'a/b', 'example.com:99999', '*.10.0.0.1', 'user@example.com']) {
        expect(() => makeTool({ allowedHosts: [entry] })).toThrow(/allowed host .* is invalid/);
      }
    });
  });

  describe('server-side request forgery', () => {
    const forbidden = [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
      '::',
      '100.100.100.200',
      '::ffff:a9fe:a9fe',
      '64:ff9b::a9fe:a9fe',
      '2002:7f00:1::1',
      'fe80::1%eth0',
      'not-an-ip',
    ];
    it.each(forbidden)('treats %s as forbidden', (ip) => {
      expect(isForbiddenAddress(ip)).toBe(true);
    });
    it.each(['93.184.216.34', '2606:4700::1', '::ffff:93.184.216.34', '172.32.0.1'])('allows %s', (ip) => {
      expect(isForbiddenAddress(ip)).toBe(false);
    });

    it('reaches loopback through a name listed literally (localhost:PORT)', async () => {
      const server = await startServer((_req, res) => res.end('ok'));
      const tool = makeTool({ allowedHosts: [`localhost:${server.port}`] });

      const result = await call(tool, { url: `http://localhost:${server.port}/` });

      expect(result.body).toBe('ok');
      expect(server.requests).toHaveLength(1);
    });

    it('does not let a wildcard entry (*.localhost) reach loopback', async () => {
      const server = await startServer((_req, res) => res.end('internal'));
      const tool = makeTool({ allowedHosts: ['*.localhost'] });
      const resolves = await dns.promises.lookup('a.localhost').then(
        () => true,
        () => false,
      );

      const err = await failure(call(tool, { url: `http://a.localhost:${server.port}/` }));

      // Where *.localhost resolves (to loopback) the guard refuses it; elsewhere resolution itself fails.
      if (resolves) expect(err).toBeInstanceOf(HttpRequestRefusedError);
      expect(server.requests).toHaveLength(0);
    });

    it('refuses a wildcard-matched name that resolves to loopback', async () => {
      const server = await startServer((_req, res) => res.end('internal'));
      fakeDns(['127.0.0.1']);
      const tool = makeTool({ allowedHosts: ['*.warden.test'] });

      const err = await failure(call(tool, { url: `http://api.warden.test:${server.port}/` }));

      expect(err).toBeInstanceOf(HttpRequestRefusedError);
      expect(err.message).toContain('api.warden.test resolves to 127.0.0.1');
      expect(err.message).toContain('literally');
      expect(server.requests).toHaveLength(0);
    });

    it('refuses a name when any of its addresses is private, not just the first', async () => {
      fakeDns(['93.184.216.34', '169.254.169.254']);
      const tool = makeTool({ allowedHosts: ['*.warden.test'] });

      const err = await failure(call(tool, { url: 'http://metadata.warden.test/latest/meta-data/' }));

      expect(err).toBeInstanceOf(HttpRequestRefusedError);
      expect(err.message).toContain('169.254.169.254');
    });

    it('connects to the address it resolved and checked', async () => {
      const server = await startServer((_req, res) => res.end('via checked address'));
      fakeDns(['127.0.0.1']);
      // A literal entry opts in to private addresses; the name exists only in the fake resolver.
      const tool = makeTool({ allowedHosts: [`api.warden.test:${server.port}`] });

      const result = await call(tool, { url: `http://api.warden.test:${server.port}/` });

      expect(result.body).toBe('via checked address');
      expect(server.requests[0]!.headers.host).toBe(`api.warden.test:${server.port}`);
    });
  });

  describe('redirects', () => {
    it('follows a redirect to an allowed path', async () => {
      const server = await startServer((req, res) => {
        if (req.url === '/start') {
          res.writeHead(302, { location: '/final?step=2' });
          res.end('moved');
        } else res.end(`at ${req.url}`);
      });
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`] });

      const result = await call(tool, { url: `${server.base}/start` });

      expect(result).toMatchObject({ status: 200, body: 'at /final?step=2' });
      expect(server.requests.map((r) => r.url)).toEqual(['/start', '/final?step=2']);
    });

    it('refuses a redirect to a host that is not allowed, without contacting it', async () => {
      const other = await startServer((_req, res) => res.end('should not be reached'));
      const server = await startServer((_req, res) => {
        res.writeHead(301, { location: `${other.base}/steal` });
        res.end();
      });
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`] });

      const err = await failure(call(tool, { url: `${server.base}/start` }));

      expect(err).toBeInstanceOf(HttpRequestRefusedError);
      expect(err.message).toContain(`host 127.0.0.1:${other.port} is not in the allowed hosts`);
      expect(server.requests).toHaveLength(1);
      expect(other.requests).toHaveLength(0);
    });

    it('turns a POST into a GET without a body on 303, and keeps them on 307', async () => {
      const server = await startServer((req, res) => {
        if (req.url === '/see-other') res.writeHead(303, { location: '/result' }).end();
        else if (req.url === '/temporary') res.writeHead(307, { location: '/result' }).end();
        else res.end();
      });
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`] });

      await call(tool, { method: 'POST', url: `${server.base}/see-other`, body: { a: 1 } });
      await call(tool, { method: 'POST', url: `${server.base}/temporary`, body: { a: 1 } });

      const [, afterSeeOther, , afterTemporary] = server.requests;
      expect(afterSeeOther).toMatchObject({ method: 'GET', body: '' });
      expect(afterSeeOther!.headers['content-type']).toBeUndefined();
      expect(afterTemporary).toMatchObject({ method: 'POST', body: '{"a":1}' });
    });

    it('drops credentials when a redirect leaves the origin', async () => {
      const other = await startServer((_req, res) => res.end('other'));
      const server = await startServer((_req, res) => {
        res.writeHead(302, { location: `http://localhost:${other.port}/` });
        res.end();
      });
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`, `localhost:${other.port}`] });

      const result = await call(tool, {
        url: `${server.base}/`,
        headers: { authorization: 'Bearer canary-123', 'x-trace': 't-1' },
      });

      expect(result.body).toBe('other');
      expect(server.requests[0]!.headers.authorization).toBe('Bearer canary-123');
      expect(other.requests[0]!.headers.authorization).toBeUndefined();
      expect(other.requests[0]!.headers['x-trace']).toBe('t-1');
    });

    it('fails after maxRedirects redirects', async () => {
      const server = await startServer((_req, res) => {
        res.writeHead(302, { location: `/again?n=${Math.random()}` });
        res.end();
      });
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`], maxRedirects: 2 });

      const err = await failure(call(tool, { url: `${server.base}/loop` }));

      expect(err.message).toContain('redirected more than 2 times');
      expect(server.requests).toHaveLength(3);
    });
  });

  describe('limits', () => {
    it('truncates a response larger than maxResponseBytes and closes the connection', async () => {
      let serverSawClose!: () => void;
      const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
      const server = await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        // An endless body: only closing the socket ends this call within the timeout.
        const timer = setInterval(() => res.write('x'.repeat(512)), 5);
        res.on('close', () => {
          clearInterval(timer);
          serverSawClose();
        });
      });
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`], maxResponseBytes: 1000 });

      const result = await call(tool, { url: `${server.base}/big` });

      expect(result).toMatchObject({ status: 200, bytes: 1000, truncated: true });
      expect(result.body).toBe('x'.repeat(1000));
      expect(result.json).toBeUndefined();
      await closed;
    });

    it('times out a slow server within the requested bound', async () => {
      const server = await startServer(() => undefined); // never answers
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`] });

      const started = Date.now();
      const err = await failure(call(tool, { url: `${server.base}/slow`, timeoutMs: 200 }));

      expect(err.message).toContain('http_request: timed out after 200 ms');
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('caps the requested timeout at the configured one', async () => {
      const server = await startServer(() => undefined);
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`], timeoutMs: 300 });

      const started = Date.now();
      const err = await failure(call(tool, { url: `${server.base}/slow`, timeoutMs: 60_000 }));

      expect(err.message).toContain('http_request: timed out after 300 ms');
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('aborts when the activity is cancelled', async () => {
      const server = await startServer(() => undefined);
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${server.port}`] });
      const cancel = new AbortController();
      setTimeout(() => cancel.abort(), 100);

      const started = Date.now();
      const err = await failure(call(tool, { url: `${server.base}/slow` }, makeCtx(cancel.signal)));

      expect(err.message).toMatch(/^http_request: aborted/);
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });

  describe('secrets in errors', () => {
    const headers = { authorization: 'Bearer canary-123', 'x-api-key': 'canary-456' };

    it('never puts header values in error messages', async () => {
      const slow = await startServer(() => undefined);
      const gone = await startServer(() => undefined);
      const gonePort = gone.port;
      await gone.close();
      const tool = makeTool({ allowedHosts: [`127.0.0.1:${slow.port}`, `127.0.0.1:${gonePort}`] });

      const errors = [
        await failure(call(tool, { url: 'http://evil.example/', headers })),
        await failure(call(tool, { url: `${slow.base}/x?token=canary-789`, headers, timeoutMs: 100 })),
        await failure(call(tool, { method: 'POST', url: `http://127.0.0.1:${gonePort}/x`, headers })),
      ];

      expect(errors[2]!.message).toMatch(/ECONNREFUSED/);
      for (const err of errors) {
        expect(err.message).not.toMatch(/canary/);
        expect(err.stack ?? '').not.toMatch(/canary/);
      }
    });

    it('rejects header injection without echoing the value', () => {
      const tool = makeTool({ allowedHosts: ['api.example.com'] });

      const parsed = tool.input.safeParse({
        url: 'https://api.example.com/',
        headers: { authorization: 'Bearer canary-123\r\nX-Injected: 1' },
      });

      expect(parsed.success).toBe(false);
      expect(parsed.error?.message).toContain('control or non-Latin-1 character');
      expect(parsed.error?.message).not.toMatch(/canary/);
    });
  });

  describe('arguments and metadata', () => {
    const tool = makeTool({ allowedHosts: ['api.example.com'] });

    it('derives risk from the method', () => {
      const riskOf = (method: string) => tool.riskFor!(tool.input.parse({ method, url: 'https://api.example.com/' }));
      expect(tool.risk).toBe('write');
      expect(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].map(riskOf)).toEqual([
        'read',
        'read',
        'write',
        'write',
        'write',
        'destructive',
      ]);
    });

    it('summarizes without the query string', () => {
      const args = tool.input.parse({ method: 'POST', url: 'https://API.example.com/v1/tickets?token=s3cret' });
      expect(tool.summarize!(args)).toBe('POST api.example.com/v1/tickets');
    });

    it('rejects non-http URLs, credentials in URLs and overriding managed headers', () => {
      expect(tool.input.safeParse({ url: 'ftp://api.example.com/' }).success).toBe(false);
      expect(tool.input.safeParse({ url: 'file:///etc/passwd' }).success).toBe(false);
      expect(tool.input.safeParse({ url: 'https://u:p@api.example.com/' }).success).toBe(false);
      expect(tool.input.safeParse({ url: 'https://api.example.com/', headers: { Host: 'internal' } }).success).toBe(
        false,
      );
      expect(tool.input.parse({ url: 'https://api.example.com/' }).method).toBe('GET');
    });
  });
});
