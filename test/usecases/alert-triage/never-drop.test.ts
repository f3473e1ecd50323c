import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createSecretStore } from '../../../src/credentials/from-config';
import { freePort } from '../../../src/runtime/dev-server';
import { loadPolicyFile } from '../../../src/runtime/policy-file';
import { createLogger } from '../../../src/telemetry/logger';
import { createHttpServer } from '../../../src/triggers/http-server';
import { signWebhook } from '../../../src/triggers/webhooks';
import { useCaseWebhooks } from '../../../src/triggers/webhook-ingress';
import type { CaseFile } from '../../../src/usecases/alert-triage/tools/case';
import { ROOT, runCli } from '../../harness/cli';
import type { ScriptedLlm, ScriptedTurn } from '../../harness/scripted-llm';
import { startScriptedLlm } from '../../harness/scripted-llm';
import type { TestStack } from '../../harness/temporal';
import { startTestStack } from '../../harness/temporal';
import { waitFor } from '../../harness/wait';
import { signerOf, testKeysDir, withTestPrincipals } from '../../harness/identity';

/*
 * Issue #13 item 1, "never drop an alert": every accepted alert ends in a case and a recorded decision,
 * whatever the model does — busy (429), hanging, down — and whatever the human decides.
 */

const WEBHOOK_SECRET = 'whsec-test-never-drop';
const BENIGN = JSON.stringify({
  verdict: 'benign',
  confidence: 0.95,
  rationale: 'Known admin tool run from the IT jump host.',
  recommendedActions: [],
});

function detection(id: string) {
  return {
    metadata: { eventType: 'DetectionSummaryEvent', eventCreationTime: 1732456800000, customerIDString: 'cid' },
    event: {
      DetectId: `ldt:${id}`,
      ComputerName: 'ws-17.corp.example.com',
      UserName: 'jdoe',
      Severity: 3,
      SeverityName: 'Medium',
      DetectName: 'Suspicious PowerShell',
      DetectDescription: `Encoded PowerShell on ws-17 (${id})`,
      FileName: 'powershell.exe',
      CommandLine: 'powershell.exe -enc SQBFAFgA',
    },
  };
}

/** A triage stack: worker, scripted model, webhook ingress; `post` delivers one signed detection. */
async function triageStack(llm: ScriptedLlm, env: Record<string, string>) {
  process.env.WARDEN_SECRET_WEBHOOK_CROWDSTRIKE = WEBHOOK_SECRET;
  const stack = await startTestStack(
    { OPENAI_BASE_URL: llm.baseURL, OPENAI_API_KEY: 'sk-test', WARDEN_LLM_MODEL: 'triage-model', ...env },
    {
      policy: withTestPrincipals(
        loadPolicyFile(path.join(ROOT, 'policy', 'default.yaml'), [
          { usecase: 'alert-triage', file: path.join(ROOT, 'src', 'usecases', 'alert-triage', 'policy.yaml') },
        ]),
      ),
    },
  );
  const silent = createLogger({ level: 'silent' });
  const http: FastifyInstance = createHttpServer({
    client: stack.client,
    logger: silent,
    webhooks: {
      ...useCaseWebhooks({
        config: stack.config,
        client: stack.client,
        logger: silent,
        secrets: createSecretStore(stack.config).store,
      }),
      maxBytes: 64 * 1024,
    },
  });
  const port = await freePort();
  await http.listen({ host: '127.0.0.1', port });
  const post = async (id: string): Promise<string> => {
    const body = JSON.stringify(detection(id));
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`http://127.0.0.1:${port}/v1/webhooks/crowdstrike`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-warden-timestamp': String(ts),
        'x-warden-signature': signWebhook(WEBHOOK_SECRET, ts, body),
      },
      body,
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { workflowId: string }).workflowId;
  };
  const caseOf = (workflowId: string): CaseFile | undefined => {
    const file = path.join(stack.config.dataDir, 'cases', `${workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as CaseFile) : undefined;
  };
  const markdownOf = (workflowId: string): string =>
    fs.readFileSync(
      path.join(stack.config.dataDir, 'cases', `${workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}.md`),
      'utf8',
    );
  const stop = async () => {
    delete process.env.WARDEN_SECRET_WEBHOOK_CROWDSTRIKE;
    await http.close();
    await stack.stop();
  };
  return { stack, post, caseOf, markdownOf, stop };
}

/** How a run ended: its result, or the failure Temporal recorded (status stays honest). */
async function ending(stack: TestStack, workflowId: string): Promise<{ status: string; error?: string }> {
  try {
    const r = await stack.client.result<{ status: string }>(workflowId);
    return { status: r.status };
  } catch (err) {
    return { status: 'failed', error: (err as { cause?: Error }).cause?.message ?? (err as Error).message };
  }
}

describe('never drop an alert: a burst against a model with two slots that answers 429 beyond them and sometimes hangs', () => {
  jest.setTimeout(300_000);
  let llm: ScriptedLlm;
  let t: Awaited<ReturnType<typeof triageStack>>;
  beforeAll(async () => {
    llm = await startScriptedLlm({ maxConcurrent: 2, retryAfter: 1 });
    // The workers run 3 calls at once: one more than the model admits, so the 429 path is exercised too.
    t = await triageStack(llm, {
      WARDEN_LLM_CONCURRENCY: '3',
      WARDEN_LLM_TIMEOUT_MS: '2500',
      WARDEN_LLM_AVAILABILITY_WINDOW_MS: '240000',
    });
  });
  afterAll(async () => {
    await t.stop();
    await llm.close();
  });

  it('20 alerts at once: every one ends completed with a case; calls queue in Temporal, not at the model', async () => {
    // Every sixth answer hangs past the call timeout (retried); the rest take 250 ms, like a slow model.
    const turns: ScriptedTurn[] = Array.from({ length: 30 }, (_, i) =>
      i % 6 === 2 ? { content: BENIGN, delayMs: 8_000 } : { content: BENIGN, delayMs: 250 },
    );
    llm.script('triage-model', turns, { repeatLast: true });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => t.post(`burst-${i}`)));
    expect(new Set(ids).size).toBe(20);

    const endings = await Promise.all(ids.map((id) => ending(t.stack, id)));
    expect(endings.filter((e) => e.status !== 'completed')).toEqual([]);
    for (const id of ids) {
      const c = t.caseOf(id);
      expect(c?.run).toMatchObject({ workflowId: id, outcome: 'completed' });
      expect(c?.verdict).toMatchObject({ verdict: 'benign', confidence: 0.95 });
    }
    // Paced: never more calls in progress at the model than the workers' slots (unpaced, all 20 arrive at once).
    expect(llm.peakConcurrent).toBeLessThanOrEqual(3);
    expect(llm.overCapacity).toBeGreaterThan(0);
    // Hung calls were retried: more requests than alerts, yet one verdict each.
    expect(llm.requestsFor('triage-model').length).toBeGreaterThan(20 + llm.overCapacity);
  });
});

describe('never drop an alert: model down, review rejected, retriage and verdict corrections', () => {
  jest.setTimeout(180_000);
  let llm: ScriptedLlm;
  let t: Awaited<ReturnType<typeof triageStack>>;
  let env: Record<string, string>;
  let rejected: string;
  beforeAll(async () => {
    llm = await startScriptedLlm();
    t = await triageStack(llm, { WARDEN_LLM_TIMEOUT_MS: '2000', WARDEN_LLM_AVAILABILITY_WINDOW_MS: '3000' });
    env = {
      TEMPORAL_ADDRESS: t.stack.config.temporal.address!,
      WARDEN_TASK_QUEUE: t.stack.config.taskQueue,
      WARDEN_DATA_DIR: t.stack.config.dataDir,
      WARDEN_KEYS_DIR: testKeysDir(['alice', 'carol', 'dave']),
    };
  });
  afterAll(async () => {
    await t.stop();
    await llm.close();
  });

  const reviewOf = (workflowId: string) =>
    waitFor(
      () => t.stack.client.pendingApprovalsOf(workflowId).catch(() => []),
      (l) => l.length === 1,
      60_000,
    ).then((l) => l[0]!);

  it('model down: the run ends in human review with what it has, and the case is written', async () => {
    llm.script('triage-model', [{ status: 503 }], { repeatLast: true });
    const id = await t.post('down-1');
    const review = await reviewOf(id);
    expect(review).toMatchObject({
      stepId: 'human_review',
      action: expect.stringMatching(/Review verdict unscored \(0\)/),
    });
    const state = await t.stack.client.runState(id);
    expect(state.steps.find((s) => s.stepId === 'score')).toMatchObject({
      status: 'failed',
      error: { type: 'LlmUnavailable' },
    });
    expect(llm.requestsFor('triage-model').length).toBeGreaterThan(1);

    await t.stack.client.decide(id, review.approvalId, 'approve', signerOf('alice'), 'looked at it myself');
    expect(await ending(t.stack, id)).toEqual({ status: 'completed' });
    const c = t.caseOf(id)!;
    expect(c.run.outcome).toBe('completed');
    expect(c.verdict).toMatchObject({
      verdict: 'unscored',
      confidence: 0,
      failed: true,
      error: { type: 'LlmUnavailable' },
    });
    expect(c.review).toMatchObject({ approved: true, approvers: ['alice'] });
    const md = t.markdownOf(id);
    expect(md).toMatch(/Verdict: \*\*unscored\*\* \(confidence 0\) — the agent gave none: LlmUnavailable/);
    expect(md).toMatch(/Outcome: \*\*completed\*\*/);
  });

  it('an answer that stays invalid (LlmOutputInvalid) also goes to a human rather than failing the run', async () => {
    llm.script('triage-model', [{ content: 'probably fine' }, { content: '{"verdict": "fine"}' }]);
    const id = await t.post('invalid-1');
    const review = await reviewOf(id);
    expect(review.action).toMatch(/Review verdict unscored \(0\)/);
    await t.stack.client.decide(id, review.approvalId, 'approve', signerOf('alice'), 'benign, checked');
    expect(await ending(t.stack, id)).toEqual({ status: 'completed' });
    expect(t.caseOf(id)?.verdict).toMatchObject({ verdict: 'unscored', error: { type: 'LlmOutputInvalid' } });
  });

  it('review rejected: the case is still written, and the run is reported failed', async () => {
    llm.script('triage-model', [{ status: 503 }], { repeatLast: true });
    rejected = await t.post('reject-1');
    const review = await reviewOf(rejected);
    await t.stack.client.decide(rejected, review.approvalId, 'reject', signerOf('alice'), 'cannot judge this');
    const end = await ending(t.stack, rejected);
    expect(end.status).toBe('failed');
    expect(end.error).toMatch(/rejected/i);
    expect((await t.stack.client.describe(rejected)).status).toBe('FAILED');
    const c = t.caseOf(rejected)!;
    expect(c.run).toMatchObject({ outcome: 'failed', failure: { type: 'ApprovalRejected' } });
    expect(t.markdownOf(rejected)).toMatch(/Outcome: \*\*failed\*\* — ApprovalRejected/);
  });

  it('warden retriage re-runs the alert under a new id, signed, recording who, why and the original', async () => {
    const noReason = await runCli(['retriage', 'reject-1', '--as', 'dave'], env);
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toMatch(/--reason/);

    llm.script('triage-model', [{ content: BENIGN }], { repeatLast: true });
    const r = await runCli(
      ['retriage', 'ldt:reject-1', '--reason', 'the model is back', '--as', 'dave', '--wait', '--json'],
      env,
      undefined,
      120_000,
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout) as { workflowId: string; status: string; retriage: string };
    expect(out).toMatchObject({ retriage: rejected, workflowId: `${rejected}--retriage-1`, status: 'completed' });
    expect(t.caseOf(out.workflowId)?.verdict).toMatchObject({ verdict: 'benign' });
    const input = await t.stack.client.startInput<{ input: { retriage: unknown }; trigger: unknown }>(out.workflowId);
    expect(input.input.retriage).toEqual({ of: rejected, reason: 'the model is back', by: 'dave' });
    expect(input.trigger).toEqual({ type: 'retriage', ref: rejected });

    const audit = await runCli(['audit', 'show', out.workflowId, '--json'], env);
    const started = (JSON.parse(audit.stdout) as { type: string; actor: { id: string }; data: unknown }[]).find(
      (x) => x.type === 'run.started',
    );
    expect(started).toMatchObject({
      actor: { id: 'dave' },
      data: { initiator: 'dave', initiatorVerified: true, trigger: { type: 'retriage', ref: rejected } },
    });
    // The original stays as it was; another retriage, even of the retriage, gets the alert's next id.
    expect((await t.stack.client.describe(rejected)).status).toBe('FAILED');
    const again = await runCli(['retriage', out.workflowId, '--reason', 'once more', '--as', 'dave', '--json'], env);
    expect([again.code, again.stderr]).toEqual([0, '']);
    const second = JSON.parse(again.stdout) as { workflowId: string; retriage: string };
    expect(second).toMatchObject({ retriage: out.workflowId, workflowId: `${rejected}--retriage-2` });
    expect(await ending(t.stack, second.workflowId)).toEqual({ status: 'completed' });
  });

  it('warden triage verdict records a corrected verdict on the case, by a verified human, in the audit ledger', async () => {
    const bad = await runCli(
      ['triage', 'verdict', rejected, '--verdict', 'maybe', '--reason', 'x', '--as', 'carol'],
      env,
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--verdict must be one of benign, suspicious, malicious/);
    const keyless = await runCli(
      ['triage', 'verdict', rejected, '--verdict', 'malicious', '--reason', 'x', '--as', 'mallory'],
      env,
    );
    expect(keyless.code).not.toBe(0);
    expect(keyless.stderr).toMatch(/no signing key for mallory/);

    const r = await runCli(
      [
        'triage',
        'verdict',
        rejected,
        '--verdict',
        'malicious',
        '--reason',
        'IR confirmed the C2',
        '--as',
        'carol',
        '--json',
      ],
      env,
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout) as { workflowId: string };
    expect(out.workflowId).toBe(`${rejected}--verdict-1`);

    const c = t.caseOf(rejected)!;
    expect(c.amendments).toEqual([
      expect.objectContaining({
        verdict: 'malicious',
        reason: 'IR confirmed the C2',
        by: 'carol',
        run: out.workflowId,
      }),
    ]);
    // The case itself is unchanged underneath the correction.
    expect(c.run).toMatchObject({ outcome: 'failed', failure: { type: 'ApprovalRejected' } });
    const md = t.markdownOf(rejected);
    expect(md).toMatch(/Corrected verdict: \*\*malicious\*\* by carol/);
    expect(md).toMatch(/## Corrections[\s\S]*IR confirmed the C2/);

    const audit = await runCli(['audit', 'show', out.workflowId, '--json'], env);
    const records = JSON.parse(audit.stdout) as {
      type: string;
      actor: { id: string };
      data: Record<string, unknown>;
    }[];
    expect(records.find((x) => x.type === 'run.started')).toMatchObject({
      actor: { id: 'carol' },
      data: { initiator: 'carol', initiatorVerified: true, trigger: { type: 'verdict-correction', ref: rejected } },
    });
    expect(records.map((x) => x.type)).toContain('tool.executed');
  });
});
