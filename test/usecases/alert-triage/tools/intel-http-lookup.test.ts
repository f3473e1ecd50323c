import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import {
  INTEL_HTTP_CAPABILITY,
  createIntelHttpLookupTool,
} from '../../../../src/usecases/alert-triage/tools/intel-http-lookup';
import type { IntelHttpConfig } from '../../../../src/usecases/alert-triage/tools/intel-http-lookup';
import { IntelLookupResult } from '../../../../src/usecases/alert-triage/tools/intel-lookup';
import { testToolContext } from '../../../harness/tool-context';

const API_KEY = 'intel-test-key-5f2c9a';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A loopback provider that records requests; `answer` writes the response (or never does). */
async function provider(answer: (seen: Seen, res: http.ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(s);
      answer(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return { url, seen };
}
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

async function call(config: IntelHttpConfig, indicator: string) {
  const tool = createIntelHttpLookupTool(config);
  const { ctx, credentialCalls } = testToolContext({ intel: API_KEY });
  const result = await tool.execute({ indicator }, ctx);
  return { result: IntelLookupResult.parse(result), credentialCalls };
}

/** The error a call fails with; asserts it never carries the API key. */
async function failure(config: IntelHttpConfig, indicator = '203.0.113.5'): Promise<Error> {
  const error = await call(config, indicator).then(
    () => new Error('expected the call to fail'),
    (err: Error) => err,
  );
  expect(error.message).not.toContain(API_KEY);
  expect(JSON.stringify(error)).not.toContain(API_KEY);
  return error;
}

describe('intel_http_lookup', () => {
  it('declares the intel lookup capability and read risk', () => {
    const tool = createIntelHttpLookupTool({ url: 'https://intel.example.com/v1/lookup' });
    expect(tool).toMatchObject({ name: 'intel_http_lookup', risk: 'read', capabilities: [INTEL_HTTP_CAPABILITY] });
    expect(INTEL_HTTP_CAPABILITY).toEqual({ provider: 'intel', scopes: ['lookup'] });
  });

  it('POSTs the refanged indicator and its type with the API key, and returns the verdict', async () => {
    const p = await provider((_s, res) =>
      json(res, 200, { verdict: 'malicious', score: 92, sources: [{ name: 'sandbox', detail: 'C2' }], extra: 1 }),
    );
    const { result, credentialCalls } = await call({ url: `${p.url}/v1/lookup` }, 'hxxp://evil[.]example[.]net/x');
    expect(credentialCalls).toEqual([INTEL_HTTP_CAPABILITY]);
    expect(p.seen).toHaveLength(1);
    expect(p.seen[0]).toMatchObject({ method: 'POST', url: '/v1/lookup' });
    expect(p.seen[0]!.headers['x-api-key']).toBe(API_KEY);
    expect(JSON.parse(p.seen[0]!.body)).toEqual({ indicator: 'http://evil.example.net/x', type: 'url' });
    expect(result).toEqual({
      indicator: 'http://evil.example.net/x',
      type: 'url',
      verdict: 'malicious',
      sources: [
        { feed: expect.stringContaining('127.0.0.1') as string, detail: 'score 92' },
        { feed: 'sandbox', detail: 'C2' },
      ],
    });
  });

  it('sends the key as a bearer token when the header is authorization', async () => {
    const p = await provider((_s, res) => json(res, 200, { verdict: 'benign' }));
    const { result } = await call({ url: p.url, authHeader: 'Authorization' }, 'example.com');
    expect(p.seen[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(p.seen[0]!.headers['x-api-key']).toBeUndefined();
    expect(result.verdict).toBe('benign');
  });

  it('reads 404 as unknown', async () => {
    const p = await provider((_s, res) => json(res, 404, { error: 'not found' }));
    expect((await call({ url: p.url }, '198.51.100.1')).result).toEqual({
      indicator: '198.51.100.1',
      type: 'ip',
      verdict: 'unknown',
      sources: [],
    });
  });

  it('fails at once, without retries, when the provider rejects the key', async () => {
    const p = await provider((s, res) => json(res, 401, { error: `bad key ${String(s.headers['x-api-key'])}` }));
    const error = await failure({ url: p.url });
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect(error.message).toMatch(/rejected the API key \(HTTP 401\).*warden secrets set intel\.api_token/);
  });

  it('fails retryably on a server error, even one that echoes the key', async () => {
    const p = await provider((s, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error for key ${String(s.headers['x-api-key'])}`);
    });
    const error = await failure({ url: p.url });
    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect(error.message).toMatch(/answered HTTP 500/);
  });

  it('names the contract when the answer does not match it', async () => {
    const p = await provider((s, res) => json(res, 200, { verdict: 'evil', echoed: s.headers['x-api-key'] }));
    expect((await failure({ url: p.url })).message).toMatch(/does not match the expected contract .*verdict/);
    const q = await provider((_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>');
    });
    expect((await failure({ url: q.url })).message).toMatch(/not JSON/);
  });

  it('times out on a provider that never answers', async () => {
    const p = await provider(() => undefined);
    const started = Date.now();
    expect((await failure({ url: p.url, timeoutMs: 300 })).message).toMatch(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses redirects, so the key never travels to another host', async () => {
    const elsewhere = await provider((_s, res) => json(res, 200, { verdict: 'benign' }));
    const p = await provider((_s, res) => {
      res.writeHead(307, { location: `${elsewhere.url}/steal` });
      res.end();
    });
    await failure({ url: p.url });
    expect(elsewhere.seen).toHaveLength(0);
  });

  it('refuses oversized answers', async () => {
    const p = await provider((_s, res) => json(res, 200, { verdict: 'unknown', pad: 'x'.repeat(4096) }));
    expect((await failure({ url: p.url, maxResponseBytes: 1024 })).message).toMatch(/larger than 1024 bytes/);
  });

  it('rejects a configuration that is not an http(s) URL', () => {
    expect(() => createIntelHttpLookupTool({ url: 'not a url' })).toThrow(/WARDEN_INTEL_HTTP_URL/);
    expect(() => createIntelHttpLookupTool({ url: 'ftp://intel.example.com' })).toThrow(/must be http\(s\)/);
  });
});
