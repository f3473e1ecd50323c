import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as a fake vendor sees it (body fully read). */
export interface FakeHttpRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What a fake vendor answers; `json` is serialized with `content-type: application/json`. */
export interface FakeHttpResponse {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
}

/** A running fake vendor server. */
export interface FakeHttpServer {
  /** Base URL on 127.0.0.1 with an ephemeral port, without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

/**
 * Starts a loopback HTTP server that hands each request (body read) to `handle`, for fake vendor APIs.
 * A handler that throws answers 500, so a bug in a fake shows up as a failed call, not a hang.
 */
export async function startJsonServer(handle: (req: FakeHttpRequest) => FakeHttpResponse): Promise<FakeHttpServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let answer: FakeHttpResponse;
      try {
        answer = handle({
          method: req.method ?? 'GET',
          url: new URL(req.url ?? '/', 'http://fake.invalid'),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      } catch (err) {
        answer = { status: 500, json: { error: String(err) } };
      }
      const headers: Record<string, string> = { ...(answer.headers ?? {}) };
      if (answer.json !== undefined) headers['content-type'] = 'application/json';
      res.writeHead(answer.status, headers);
      res.end(answer.json === undefined ? undefined : JSON.stringify(answer.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
