import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake vendor received. */
export interface VendorRequest {
  method: string;
  path: string;
  idempotencyKey?: string;
  body: unknown;
  at: number;
}

/**
 * A fake vendor API at the edge of the world: records every request, applies each side effect once per
 * Idempotency-Key (as real APIs do), and can be told to fail or slow down.
 */
export interface FakeVendor {
  url: string;
  host: string;
  requests: VendorRequest[];
  /** Idempotency key → number of times the effect was applied (must stay 1). */
  applied: Map<string, number>;
  /** Respond with this status to the next N requests. */
  failNext(n: number, status?: number): void;
  delayMs: number;
  close(): Promise<void>;
}

/** Starts a fake vendor on 127.0.0.1 with an ephemeral port. */
export async function startFakeVendor(): Promise<FakeVendor> {
  const requests: VendorRequest[] = [];
  const applied = new Map<string, number>();
  let failures: { n: number; status: number } = { n: 0, status: 500 };
  const vendor = {
    requests,
    applied,
    delayMs: 0,
    failNext(n: number, status = 503) {
      failures = { n, status };
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // keep text
      }
      const key = req.headers['idempotency-key'] as string | undefined;
      requests.push({ method: req.method ?? '', path: req.url ?? '', idempotencyKey: key, body, at: Date.now() });
      const answer = () => {
        if (failures.n > 0) {
          failures.n--;
          res.writeHead(failures.status, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
          return;
        }
        if (req.method !== 'GET' && key) {
          const seen = applied.get(key);
          if (seen === undefined) applied.set(key, 1);
          res.writeHead(seen === undefined ? 201 : 200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: true, replay: seen !== undefined, key }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, path: req.url }));
      };
      if (vendor.delayMs) setTimeout(answer, vendor.delayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(vendor, {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
