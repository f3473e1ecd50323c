import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createEventEmitTool } from '../../src/tools/event-emit';
import { EventIngestor } from '../../src/triggers/threshold-ingest';
import { loadThresholdRules } from '../../src/triggers/threshold-config';

/*
 * Which threshold rules a deployment runs (the operator's file plus the enabled use cases'), and the
 * `event_emit` tool's refusals. The firing itself is covered on a real server by threshold-http,
 * threshold-crash and the compliance e2e (drift → remediation run).
 */

describe('threshold rules of a deployment', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-threshold-config-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const rule = (id: string) => ({
    id,
    stream: 'auth',
    key: 'user',
    threshold: 5,
    window: '10m',
    playbook: 'compliance-drift-remediation',
  });

  it("loads the operator's file with the enabled use cases' rules", () => {
    const file = path.join(dir, 'rules.json');
    fs.writeFileSync(file, JSON.stringify({ rules: [rule('failed-logins')] }));
    const rules = loadThresholdRules(loadConfig({ WARDEN_THRESHOLD_RULES_FILE: file, WARDEN_DATA_DIR: dir }));
    expect(rules.map((r) => `${r.id}@${r.stream}`).sort()).toEqual([
      'compliance-drift-remediation@compliance-drift',
      'failed-logins@auth',
    ]);
    const none = loadThresholdRules(loadConfig({ WARDEN_USECASES: 'alert-triage', WARDEN_DATA_DIR: dir }));
    expect(none).toEqual([]);
  });

  it('refuses a rule id used twice and an invalid rule, naming them', () => {
    const file = path.join(dir, 'dup.json');
    fs.writeFileSync(file, JSON.stringify({ rules: [rule('compliance-drift-remediation')] }));
    expect(() => loadThresholdRules(loadConfig({ WARDEN_THRESHOLD_RULES_FILE: file, WARDEN_DATA_DIR: dir }))).toThrow(
      /threshold rule "compliance-drift-remediation" is defined in .*threshold-rules\.yaml and in .*dup\.json/,
    );
    fs.writeFileSync(file, JSON.stringify({ rules: [{ ...rule('x'), threshold: 0 }] }));
    expect(() => loadThresholdRules(loadConfig({ WARDEN_THRESHOLD_RULES_FILE: file, WARDEN_DATA_DIR: dir }))).toThrow(
      /threshold rule "x": .*threshold/,
    );
  });

  it('event_emit counts nothing for a stream without rules and refuses bad events as a whole', async () => {
    const ingestor = new EventIngestor({ client: {} as never, taskQueue: 'q', rules: [] });
    const tool = createEventEmitTool(ingestor);
    expect(tool.targets!({ stream: 'auth', events: [{ id: 'e1' }] })).toEqual([{ kind: 'stream', value: 'auth' }]);
    const ctx = { idempotencyKey: 'w/s/0', workflowId: 'w' } as never;
    await expect(tool.execute({ stream: 'auth', events: [{ id: 'e1' }] }, ctx)).resolves.toMatchObject({
      accepted: 1,
      unmatched: 1,
      deliveries: [],
    });
    await expect(tool.execute({ stream: 'auth', events: [{ id: 'e1' }, { id: 'e1' }] }, ctx)).rejects.toThrow(
      /id "e1" appears twice/,
    );
    expect(tool.input.safeParse({ stream: 'Bad Stream', events: [{ id: 'e' }] }).success).toBe(false);
  });
});
