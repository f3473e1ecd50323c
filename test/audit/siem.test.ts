import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { AppendInput, AuditRecord, HecEvent } from '../../src/audit';
import {
  GENESIS_HASH,
  HecError,
  hecEndpoint,
  parseAppendInput,
  postToHec,
  toEcs,
  toOcsf,
  writeNdjson,
} from '../../src/audit';
import { unsealed } from '../../src/audit/record';
import { seal } from '../../src/audit/store';
import { WARDEN_VERSION } from '../../src/version';

function record(seq: number, over: Partial<AppendInput>): AuditRecord {
  const input = parseAppendInput({
    idempotencyKey: `run-1/audit/${seq}`,
    workflowId: 'alert-edr-42',
    runId: 'run-1',
    type: 'tool.executed',
    actor: { kind: 'agent', id: 'alert-scorer' },
    ts: '2025-03-04T05:06:07.089Z',
    ...over,
  });
  return seal(unsealed(input, seq, GENESIS_HASH, () => new Date()));
}

const destructive = record(7, {
  data: { tool: 'isolate_host', risk: 'destructive', argsDigest: 'sha256:ab', capability: 'edr:isolate' },
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
});
const denied = record(8, {
  type: 'policy.decision',
  actor: { kind: 'system', id: 'warden' },
  data: { decision: 'deny', tool: 'delete_user', reason: 'unknown tool' },
});
const granted = record(9, {
  type: 'approval.granted',
  actor: { kind: 'human', id: 'alice' },
  data: { approvalId: 'contain.0', tier: 2 },
});

describe('OCSF API Activity mapping', () => {
  it('maps a destructive tool call to API Activity: Delete with the ledger position', () => {
    const e = toOcsf(destructive);
    expect(e).toMatchObject({
      class_uid: 6003,
      class_name: 'API Activity',
      category_uid: 6,
      category_name: 'Application Activity',
      activity_id: 4,
      activity_name: 'Delete',
      type_uid: 600304,
      time: Date.parse('2025-03-04T05:06:07.089Z'),
      severity_id: 1,
      status_id: 1,
      status: 'Success',
      actor: { user: { uid: 'alert-scorer', name: 'alert-scorer', type: 'Agent', type_id: 99 }, app_name: 'Warden' },
      api: { operation: 'tool.executed', service: { name: 'Warden' }, request: { uid: 'run-1/audit/7' } },
      resources: [{ type: 'Temporal Workflow', uid: 'alert-edr-42' }],
      metadata: {
        version: '1.3.0',
        product: { name: 'Warden', vendor_name: 'Warden', version: WARDEN_VERSION },
        uid: destructive.leafHash,
        sequence: 7,
        correlation_uid: 'alert-edr-42',
      },
      unmapped: {
        warden: { seq: 7, leaf_hash: destructive.leafHash, prev_hash: GENESIS_HASH, trace_id: destructive.traceId },
      },
    });
    expect(e.message).toBe('tool.executed: isolate_host');
    expect(e.unmapped.warden.data).toEqual(destructive.data);
  });

  it('maps a deny to a failed Other activity of medium severity, and a human approval to a User actor', () => {
    expect(toOcsf(denied)).toMatchObject({
      activity_id: 99,
      activity_name: 'policy.decision',
      type_uid: 600399,
      status_id: 2,
      severity_id: 3,
      actor: { user: { type_id: 3 } },
    });
    expect(toOcsf(granted)).toMatchObject({
      activity_id: 99,
      status: 'Success',
      actor: { user: { uid: 'alice', type: 'User', type_id: 1 } },
    });
    expect(toOcsf(record(1, { data: { tool: 'lookup_ip', risk: 'read' } }))).toMatchObject({
      activity_id: 2,
      activity_name: 'Read',
    });
  });
});

describe('ECS mapping', () => {
  it('maps records to ECS events carrying seq and leaf hash', () => {
    expect(toEcs(destructive)).toMatchObject({
      '@timestamp': '2025-03-04T05:06:07.089Z',
      ecs: { version: '8.11.0' },
      event: {
        kind: 'event',
        category: ['process'],
        type: ['deletion'],
        action: 'tool.executed',
        outcome: 'success',
        sequence: 7,
      },
      user: { name: 'alert-scorer' },
      labels: { actor_kind: 'agent', workflow_id: 'alert-edr-42', run_id: 'run-1' },
      trace: { id: destructive.traceId },
      span: { id: destructive.spanId },
      warden: { seq: 7, leaf_hash: destructive.leafHash, data: destructive.data },
    });
    expect(toEcs(denied)).toMatchObject({
      event: { category: ['iam'], type: ['denied'], outcome: 'failure', reason: 'unknown tool' },
    });
    expect(toEcs(denied)).not.toHaveProperty('user');
    expect(toEcs(granted)).toMatchObject({ event: { type: ['allowed'] }, user: { id: 'alice' } });
  });

  it('writes NDJSON, one event per line', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    expect(await writeNdjson([destructive, denied].map(toEcs), out)).toBe(2);
    const lines = text.trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { warden: { seq: number } }).warden.seq)).toEqual([7, 8]);
  });
});

interface Received {
  url: string;
  auth: string | undefined;
  events: HecEvent[];
}

/** A local HTTP server speaking Splunk HEC: answers from a script, then `{"text":"Success","code":0}`. */
async function hecServer(script: { status: number; body: unknown; headers?: Record<string, string> }[] = []) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      // HEC's framing: JSON objects back to back (whitespace between them allowed).
      const events = body
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as HecEvent);
      received.push({ url: req.url ?? '', auth: req.headers.authorization, events });
      const next = script.shift() ?? { status: 200, body: { text: 'Success', code: 0 } };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const TOKEN = 'hec-token-7f3a9c1e-do-not-print';
const events = (n: number): HecEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    time: 1_700_000_000 + i,
    sourcetype: 'warden:audit:ocsf',
    source: 'warden',
    event: { seq: i + 1 },
  }));
const noSleep = () => Promise.resolve();

describe('Splunk HEC poster', () => {
  it('posts batches of 100 to /services/collector/event with the Splunk authorization header', async () => {
    const hec = await hecServer();
    try {
      const result = await postToHec(events(250), { url: hec.url, token: TOKEN, sleep: noSleep });
      expect(result).toEqual({ events: 250, batches: 3, retries: 0 });
      expect(hec.received.map((r) => r.events.length)).toEqual([100, 100, 50]);
      for (const r of hec.received) {
        expect(r.url).toBe('/services/collector/event');
        expect(r.auth).toBe(`Splunk ${TOKEN}`);
      }
      expect(hec.received.flatMap((r) => r.events).map((e) => (e.event as { seq: number }).seq)).toEqual(
        [...Array(250).keys()].map((k) => k + 1),
      );
      expect(hec.received[0]!.events[0]).toEqual({
        time: 1_700_000_000,
        sourcetype: 'warden:audit:ocsf',
        source: 'warden',
        event: { seq: 1 },
      });
    } finally {
      await hec.close();
    }
  });

  it('retries a batch after 503 and 429 (honouring Retry-After), then succeeds', async () => {
    const hec = await hecServer([
      { status: 503, body: { text: 'Server is busy', code: 9 } },
      { status: 429, body: { text: 'Too many requests', code: 9 }, headers: { 'retry-after': '0' } },
    ]);
    const waits: number[] = [];
    try {
      const result = await postToHec(events(3), {
        url: `${hec.url}/`,
        token: TOKEN,
        sleep: (ms) => (waits.push(ms), Promise.resolve()),
      });
      expect(result).toEqual({ events: 3, batches: 1, retries: 2 });
      expect(hec.received).toHaveLength(3);
      expect(hec.received[2]!.events).toEqual(hec.received[0]!.events);
      expect(waits).toEqual([500, 0]);
    } finally {
      await hec.close();
    }
  });

  it('fails at once on a refused token, saying what to check and never showing the token', async () => {
    const hec = await hecServer([
      { status: 200, body: { text: 'Success', code: 0 } },
      { status: 403, body: { text: 'Invalid token', code: 4 } },
    ]);
    try {
      const err = (await postToHec(events(150), { url: hec.url, token: TOKEN, sleep: noSleep }).catch(
        (e: unknown) => e,
      )) as HecError;
      expect(err).toBeInstanceOf(HecError);
      expect(err.message).toMatch(/HTTP 403, HEC code 4: Invalid token.*check the HEC token/);
      expect(err.sent).toBe(100);
      expect(`${err.message} ${err.stack ?? ''}`).not.toContain(TOKEN);
      expect(hec.received).toHaveLength(2);
    } finally {
      await hec.close();
    }
  });

  it('gives up after the last attempt and says so', async () => {
    const hec = await hecServer(
      Array.from({ length: 5 }, () => ({ status: 500, body: { text: 'Internal', code: 8 } })),
    );
    try {
      await expect(
        postToHec(events(1), { url: hec.url, token: TOKEN, maxAttempts: 3, sleep: noSleep }),
      ).rejects.toThrow(/kept failing \(HTTP 500, HEC code 8: Internal\) after 3 attempts/);
      expect(hec.received).toHaveLength(3);
    } finally {
      await hec.close();
    }
  });

  it('normalises the endpoint and strips credentials from what it prints', () => {
    expect(hecEndpoint('https://splunk.example.com:8088')).toBe(
      'https://splunk.example.com:8088/services/collector/event',
    );
    expect(hecEndpoint('https://splunk:8088/services/collector')).toBe('https://splunk:8088/services/collector/event');
    expect(hecEndpoint('https://u:p@splunk:8088/services/collector/event?x=1')).toBe(
      'https://splunk:8088/services/collector/event',
    );
    expect(() => hecEndpoint('not a url')).toThrow(/--hec-url is not a URL/);
  });
});
