import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { FastifyInstance } from 'fastify';
import { codecFromConfig } from '../../src/codec/codec-keys';
import { createCodecServer } from '../../src/codec/codec-server';
import { loadConfig } from '../../src/config';
import { generateKey } from '../../src/credentials/aead';
import type { Playbook } from '../../src/governance/steps';
import { connectClient } from '../../src/runtime/connection';
import { resolveTemporalCli } from '../../src/runtime/temporal-binaries';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { memoryLogger, startTestStack } from '../harness/temporal';
import { waitFor } from '../harness/wait';
import { signedApproval } from '../harness/identity';

const CANARY = 'canary-history-4e7b91d0';
const TOKEN = 'integration-codec-token-000111';
const run = promisify(execFile);

const gated: Playbook = {
  name: 'gated',
  steps: [{ id: 'gate', kind: 'approval', title: 'Proceed?', tier: 1, details: { note: CANARY }, onError: 'fail' }],
};

type JsonPayload = { metadata: Record<string, string>; data: string };
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
/** The start event's input payload from `temporal workflow show --output json`, base64 fields decoded. */
function firstInput(showJson: string): { encoding: string; data: string } {
  const doc = JSON.parse(showJson) as {
    events: { workflowExecutionStartedEventAttributes?: { input: { payloads: JsonPayload[] } } }[];
  };
  const p = doc.events[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0]!;
  const unb64 = (v: string | undefined) => Buffer.from(v ?? '', 'base64').toString('utf8');
  return { encoding: unb64(p.metadata.encoding), data: unb64(p.data) };
}
const encodingOf = (p: Payload | undefined) => Buffer.from(p?.metadata?.encoding ?? []).toString();

describe('payload encryption on a real Temporal server', () => {
  let stack: TestStack;
  let raw: Client;
  let codecServer: FastifyInstance;
  let codecUrl: string;

  beforeAll(async () => {
    stack = await startTestStack(
      { WARDEN_CODEC_KEYS: `it-key=${generateKey().toString('base64')}` },
      { policy: testPolicy() },
    );
    // A client WITHOUT the codec: what anyone reading Temporal's database or API sees.
    raw = await connectClient(loadConfig({ TEMPORAL_ADDRESS: stack.config.temporal.address! }), 60_000);
    codecServer = createCodecServer({
      codec: codecFromConfig(stack.config)!,
      token: TOKEN,
      corsOrigins: [],
      logger: memoryLogger().logger,
    });
    await codecServer.listen({ host: '127.0.0.1', port: 0 });
    const addr = codecServer.server.address();
    codecUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(async () => {
    await codecServer?.close();
    await raw?.connection.close();
    await stack?.stop();
  });

  it('stores ciphertext in history, the codec server decodes it, and the temporal CLI can still approve', async () => {
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook: gated,
      input: { marker: CANARY },
      initiator: 'olivia',
    });
    const pending = await waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (l) => l.length === 1,
    );
    expect(pending[0]!.eligible).toEqual(['alice', 'bob']); // the codec client reads query results

    // 1. Raw history: every payload is encrypted, and the canary appears nowhere in its bytes.
    const history = await raw.workflow.getHandle(id).fetchHistory();
    const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    expect(bytes.includes(CANARY)).toBe(false);
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const input = started.input!.payloads![0]!;
    expect(encodingOf(input)).toBe('binary/encrypted');
    expect(Buffer.from(input.metadata!['encryption-key-id']!).toString()).toBe('it-key');
    const completedActivities = history.events!.filter((e) => e.activityTaskCompletedEventAttributes);
    for (const e of completedActivities) {
      for (const p of e.activityTaskCompletedEventAttributes!.result?.payloads ?? []) {
        expect(encodingOf(p)).toBe('binary/encrypted');
      }
    }
    // The raw client cannot read a query result either: it arrives encrypted.
    const rawQuery = await raw.workflow
      .getHandle(id)
      .query('pendingApprovals')
      .then(
        (v) => JSON.stringify(v),
        (err: Error) => err.message,
      );
    expect(rawQuery).not.toContain(CANARY);

    // 2. The codec server decodes the history's payloads for authorised callers.
    const decode = (headers: Record<string, string>) =>
      fetch(`${codecUrl}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
        body: JSON.stringify({ payloads: [toJson(input)] }),
      });
    expect((await decode({})).status).toBe(401);
    const res = await decode({ authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    const [decoded] = ((await res.json()) as { payloads: JsonPayload[] }).payloads;
    const value = defaultPayloadConverter.fromPayload<{ input: { marker: string } }>({
      metadata: Object.fromEntries(Object.entries(decoded!.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      data: Buffer.from(decoded!.data, 'base64'),
    });
    expect(value.input.marker).toBe(CANARY);

    // 3. The official temporal CLI, with no codec, sends an approval; the run accepts it and completes.
    const cli = resolveTemporalCli();
    const address = stack.config.temporal.address!;
    const signal = JSON.stringify(
      signedApproval(pending[0]!, 'approve', 'alice', { reason: 'via temporal CLI, no codec' }),
    );
    await run(cli, ['workflow', 'signal', '--address', address, '-w', id, '--name', 'approval', '--input', signal]);
    await stack.client.result(id);
    const attempts = await stack.client.approvalAttempts(id);
    expect(attempts[0]).toMatchObject({ approver: 'alice', outcome: 'accepted' });

    // 4. The temporal CLI reads the history in plaintext through the codec server (token via env, not argv).
    const shown = await run(
      cli,
      ['workflow', 'show', '--address', address, '-w', id, '--output', 'json', '--codec-endpoint', codecUrl],
      { env: { ...process.env, TEMPORAL_CODEC_AUTH: `Bearer ${TOKEN}` }, maxBuffer: 16 * 1024 * 1024 },
    );
    const withoutCodec = await run(cli, ['workflow', 'show', '--address', address, '-w', id, '--output', 'json'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(firstInput(shown.stdout)).toEqual({ encoding: 'json/plain', data: expect.stringContaining(CANARY) });
    expect(firstInput(withoutCodec.stdout)).toEqual({
      encoding: 'binary/encrypted',
      data: expect.not.stringContaining(CANARY),
    });
    const after = Buffer.from(
      temporal.api.history.v1.History.encode(await raw.workflow.getHandle(id).fetchHistory()).finish(),
    );
    expect(after.includes(CANARY)).toBe(false);
  });
});
