import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { createCodecServer, loadCodecServerToken } from '../../src/codec/codec-server';
import { EncryptionCodec } from '../../src/codec/payload-codec';
import { loadConfig } from '../../src/config';
import { generateKey } from '../../src/credentials/aead';
import { keyRing } from '../../src/credentials/keys';
import { memoryLogger } from '../harness/temporal';

const TOKEN = 'test-token-0123456789abcdef';
const UI_TOKEN = 'ui-path-token-abcdefghijklmnop';
const UI = 'http://127.0.0.1:8233';
const CANARY = 'canary-codec-server-77aa';

interface Res {
  statusCode: number;
  headers: Record<string, string>;
  json<T = unknown>(): T;
}
type JsonPayloads = { payloads: { metadata: Record<string, string>; data: string }[] };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const plainPayload = (v: unknown) => {
  const p = defaultPayloadConverter.toPayload(v);
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, x]) => [k, Buffer.from(x).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
};

describe('codec server', () => {
  let app: FastifyInstance;
  let base: string;
  const { logger, lines } = memoryLogger();
  beforeAll(async () => {
    app = createCodecServer({
      codec: new EncryptionCodec(keyRing([{ id: 'k1', key: generateKey() }])),
      token: TOKEN,
      uiPathToken: UI_TOKEN,
      corsOrigins: [UI, 'http://localhost:8233'],
      logger,
      bodyLimit: 64 * 1024,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(() => app.close());

  // Real HTTP (fastify's inject pulls an ESM-only dependency jest cannot load).
  const request = async (
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<Res> => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      statusCode: res.status,
      headers: Object.fromEntries(res.headers.entries()),
      json: <T>() => JSON.parse(text) as T,
    };
  };
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    request('POST', url, { 'content-type': 'application/json', ...headers }, body);
  const preflight = (url: string, headers: Record<string, string>) => request('OPTIONS', url, headers);
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('answers 401 without a token or with a wrong one, and says what to send', async () => {
    const body = { payloads: [plainPayload(CANARY)] };
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-wrong-token' },
      { authorization: TOKEN },
    ];
    for (const headers of attempts) {
      for (const op of ['encode', 'decode']) {
        const res = await post(`/${op}`, body, headers);
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.json()).toEqual({ error: expect.stringMatching(/Authorization: Bearer/) });
      }
    }
    expect((await post('/ui/not-the-token/decode', body)).statusCode).toBe(401);
  });

  it('encodes then decodes (Temporal codec-server JSON, base64 fields)', async () => {
    const enc = await post('/encode', { payloads: [plainPayload({ secret: CANARY })] }, auth);
    expect(enc.statusCode).toBe(200);
    const encoded = enc.json<JsonPayloads>();
    expect(encoded.payloads[0]!.metadata.encoding).toBe(b64('binary/encrypted'));
    expect(encoded.payloads[0]!.metadata['encryption-key-id']).toBe(b64('k1'));
    expect(Buffer.from(encoded.payloads[0]!.data, 'base64').includes(CANARY)).toBe(false);

    const dec = await post('/decode', encoded, { ...auth, 'x-namespace': 'default' });
    expect(dec.statusCode).toBe(200);
    const [p] = dec.json<JsonPayloads>().payloads;
    expect(Buffer.from(p!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(p!.data, 'base64').toString())).toEqual({ secret: CANARY });
    // The Web UI's tokenised path works the same way.
    const viaUi = await post(`/ui/${UI_TOKEN}/decode`, encoded, { origin: UI });
    expect(viaUi.json<JsonPayloads>().payloads[0]!.data).toBe(p!.data);
  });

  it('answers the Web UI’s CORS preflight, including x-namespace and authorization', async () => {
    const res = await preflight('/decode', {
      origin: UI,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-namespace,authorization',
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(UI);
    expect(res.headers['access-control-allow-methods']).toMatch(/POST/);
    expect(String(res.headers['access-control-allow-headers']).split(/,\s*/)).toEqual(
      expect.arrayContaining(['content-type', 'x-namespace', 'authorization']),
    );
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const decode = await post('/decode', { payloads: [] }, { ...auth, origin: 'http://localhost:8233' });
    expect(decode.headers['access-control-allow-origin']).toBe('http://localhost:8233');
  });

  it('refuses other browser origins', async () => {
    const pre = await preflight('/decode', { origin: 'https://evil.example' });
    expect(pre.statusCode).toBe(403);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const res = await post('/decode', { payloads: [] }, { ...auth, origin: 'https://evil.example' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ error: expect.stringMatching(/WARDEN_CODEC_CORS_ORIGINS/) });
  });

  it('passes unencrypted payloads through /decode, and rejects bad bodies, unknown keys and oversized requests', async () => {
    const plain = plainPayload({ approvalId: 'gate.0' });
    expect((await post('/decode', { payloads: [plain] }, auth)).json()).toEqual({ payloads: [plain] });
    expect((await post('/decode', { nope: 1 }, auth)).statusCode).toBe(400);
    const foreign = {
      payloads: [
        { metadata: { encoding: b64('binary/encrypted'), 'encryption-key-id': b64('k0') }, data: b64('x'.repeat(40)) },
      ],
    };
    const unknown = await post('/decode', foreign, auth);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toEqual({ error: expect.stringMatching(/codec key k0, which is not configured/) });
    const huge = await post('/encode', { payloads: [plainPayload('x'.repeat(100_000))] }, auth);
    expect(huge.statusCode).toBe(413);
  });

  it('never logs the UI path token or payloads', () => {
    expect(lines.join('\n')).not.toContain(UI_TOKEN);
    expect(lines.join('\n')).not.toContain(CANARY);
  });
});

describe('codec server token', () => {
  it('is generated once into the token file (0600) when none is configured, and an env token wins', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-codec-'));
    const config = loadConfig({ WARDEN_DATA_DIR: dir });
    const first = loadCodecServerToken(config);
    expect(first.created).toBe(true);
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    expect(fs.statSync(path.join(dir, 'codec-server.token')).mode & 0o777).toBe(0o600);
    expect(loadCodecServerToken(config)).toEqual({ ...first, created: false });
    expect(loadCodecServerToken(loadConfig({ WARDEN_DATA_DIR: dir, WARDEN_CODEC_SERVER_TOKEN: TOKEN })).token).toBe(
      TOKEN,
    );
  });
});
