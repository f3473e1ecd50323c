import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../../src/errors';
import type { WebhookRejected } from '../../../src/triggers/webhooks';
import { useCase } from '../../../src/usecases/ticket-triage';
import { DEMO_DIR, DEMO_TICKETS } from '../../../src/usecases/ticket-triage/demo';
import { scoreClassification } from '../../../src/usecases/ticket-triage/eval/metrics';
import { parseSettings, resolveOptions } from '../../../src/usecases/ticket-triage/options';
import { createTicketTriageTools } from '../../../src/usecases/ticket-triage/tools';
import { renderCaseNote } from '../../../src/usecases/ticket-triage/tools/escalate-tool';
import { loadPlaybook, ticketFromDelivery, ticketWorkflowId } from '../../../src/usecases/ticket-triage/trigger';
import { testToolContext } from '../../harness/tool-context';
import { testConfigFor } from './tools/tool-options';

describe('ticket triage use case', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-tt-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const options = (raw: Record<string, string> = {}) => resolveOptions(testConfigFor(dir), parseSettings(raw));

  it('declares its playbooks, policy fragment, webhook sources and paused poll schedules', () => {
    expect(Object.keys(useCase.playbooks!)).toEqual(['ticket-triage', 'ticket-poll']);
    for (const name of Object.keys(useCase.playbooks!)) expect(loadPlaybook(name).name).toBe(name);
    expect(fs.existsSync(useCase.policyRules!)).toBe(true);
    expect(useCase.webhooks!.sources).toEqual(['servicenow', 'jira']);
    expect(useCase.schedules!.map((s) => [s.id, s.playbook, s.input, s.enabledByDefault])).toEqual([
      ['ticket-poll-servicenow', 'ticket-poll', { source: 'servicenow' }, false],
      ['ticket-poll-jira', 'ticket-poll', { source: 'jira' }, false],
    ]);
  });

  it('turns each demo ticket (ServiceNow record, Jira webhook) into a ticket reference with its snapshot', () => {
    const o = options();
    const refs = DEMO_TICKETS.map((t) =>
      ticketFromDelivery(t.source, JSON.parse(fs.readFileSync(path.join(DEMO_DIR, t.file), 'utf8')), o),
    );
    expect(refs.map((r) => ticketWorkflowId(r.source, r.id))).toEqual([
      'ticket-servicenow-9d385017c611228701d22104cc95c371',
      'ticket-jira-10231',
      'ticket-jira-10232',
      'ticket-servicenow-46d44a5fa9fe198101a78787e40d7547',
    ]);
    expect(refs[0]!.snapshot).toMatchObject({
      readFrom: 'webhook',
      requester: { email: 'dana.demo@example.com', verified: true },
    });
    expect(refs[2]!.snapshot!.description).toMatch(/^Hallo, ich bin neu im Büro/);
    expect(refs[3]!.snapshot!.requester).toMatchObject({ verified: false, reason: expect.stringMatching(/"email"/) });
  });

  it('rejects payloads it cannot read with a 4xx that says what is missing', () => {
    const o = options();
    const reject = (source: 'servicenow' | 'jira', body: unknown) => {
      try {
        ticketFromDelivery(source, body, o);
      } catch (err) {
        return err as WebhookRejected;
      }
      throw new Error('accepted');
    };
    expect(reject('servicenow', { result: { number: 'INC1' } })).toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/sys_id and number/),
    });
    expect(reject('jira', { issue: { id: '1' } })).toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/webhookEvent/),
    });
    expect(
      reject('jira', { webhookEvent: 'jira:issue_deleted', issue: { id: '1', key: 'A-1', fields: {} } }).statusCode,
    ).toBe(422);
  });

  it('runs in shadow mode without a URL: reads the delivered snapshot, writes each change once to the outbox', async () => {
    const o = options();
    const tools = new Map(
      createTicketTriageTools(o, { client: () => Promise.reject(new Error('none')) }).map((t) => [t.name, t]),
    );
    const ref = ticketFromDelivery(
      'jira',
      JSON.parse(fs.readFileSync(path.join(DEMO_DIR, 'jira-laptop-broken.json'), 'utf8')),
      o,
    );
    const get = tools.get('ticket_get')!;
    const ctx = testToolContext({}, { idempotencyKey: 'ticket-jira-10231/escalate/0' }).ctx;
    expect(
      await get.execute(get.input.parse({ system: 'jira', id: ref.id, snapshot: ref.snapshot }), ctx),
    ).toMatchObject({ number: 'ITSD-231', readFrom: 'webhook' });
    await expect(get.execute(get.input.parse({ system: 'jira', id: '999' }), ctx)).rejects.toThrow(
      /WARDEN_TICKETS_JIRA_URL/,
    );
    const esc = tools.get('ticket_escalate')!;
    const args = esc.input.parse({
      system: 'jira',
      id: ref.id,
      number: 'ITSD-231',
      queue: 'Desktop Support',
      case: { summary: 'Cracked screen' },
    });
    const first = (await esc.execute(args, ctx)) as { note: { applied: boolean; mode: string; outbox: string } };
    const retry = (await esc.execute(args, ctx)) as { note: { applied: boolean } };
    expect(first.note).toMatchObject({ applied: true, mode: 'shadow' });
    expect(retry.note.applied).toBe(false);
    const lines = fs
      .readFileSync(first.note.outbox, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { operation: string });
    expect(lines.map((l) => l.operation)).toEqual(['comment', 'assign']);
  });

  it('renders a case even when classification failed, naming the problem', () => {
    const note = renderCaseNote('Service Desk', {
      classification: { category: null, confidence: null },
      route: null,
      problems: ['agent ticket-classifier: final answer still invalid after one repair turn'],
    });
    expect(note).toMatch(/escalated to Service Desk/);
    expect(note).toMatch(/Classification: - \(confidence -\)/);
    expect(note).toMatch(/Problem: agent ticket-classifier: final answer still invalid/);
  });

  it('refuses bad settings, naming the setting and what it must be', () => {
    expect(() => parseSettings({ WARDEN_TICKETS_SERVICENOW_URL: 'http://sn.example.com' })).toThrow(ConfigError);
    expect(() => parseSettings({ WARDEN_TICKETS_CATEGORIES: 'hardware=Desk, bad name' })).toThrow(
      /WARDEN_TICKETS_CATEGORIES.*name=Queue/,
    );
    expect(
      options({ WARDEN_TICKETS_CATEGORIES: 'hardware=Field Services,other' }).categories.map((c) => [c.name, c.queue]),
    ).toEqual([
      ['hardware', 'Field Services'],
      ['other', 'Service Desk'],
    ]);
  });

  it('scores classifications: accuracy, macro-F1, per-class recall and the confusion matrix', () => {
    const r = scoreClassification(
      [
        { gold: 'a', predicted: 'a' },
        { gold: 'a', predicted: 'b' },
        { gold: 'b', predicted: 'b' },
        { gold: 'b', predicted: null },
      ],
      ['a', 'b'],
    );
    expect(r.accuracy).toBe(0.5);
    expect(r.perClass.map((c) => [c.label, c.recall, c.precision])).toEqual([
      ['a', 0.5, 1],
      ['b', 0.5, 0.5],
    ]);
    expect(r.macroF1).toBeCloseTo((2 / 3 + 0.5) / 2);
    expect(r.confusion).toEqual([
      [1, 1, 0],
      [0, 1, 1],
    ]);
  });
});
