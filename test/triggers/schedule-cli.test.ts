import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli';
import type { CliIO } from '../../src/cli/output';
import type { ScheduleView } from '../../src/triggers/schedules';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';

/** Runs `warden ...` in-process (the real command tree and client) and collects its output. */
async function warden(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (t) => void (out += `${t}\n`),
    err: (t) => void (err += `${t}\n`),
    readStdin: () => Promise.resolve('{"team":"stdin"}'),
  };
  const code = await main(['node', 'warden', ...args], io);
  return { code, out, err };
}

describe('warden schedule (CLI against the real dev server)', () => {
  jest.setTimeout(120_000);
  let stack: TestStack;
  let vendor: FakeVendor;
  let dir: string;
  const saved = { ...process.env };
  const id = `cli-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    vendor = await startFakeVendor();
    stack = await startTestStack({}, { extraTools: vendorTools(vendor.url), policy: testPolicy() });
    process.env.TEMPORAL_ADDRESS = stack.config.temporal.address!;
    process.env.WARDEN_TASK_QUEUE = stack.config.taskQueue;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-schedule-cli-'));
    fs.writeFileSync(
      path.join(dir, 'report.yaml'),
      [
        'name: weekly-report',
        'steps:',
        '  - id: ticket',
        '    kind: action',
        '    tool: ticket_create',
        '    args: { title: "weekly report for {{ input.team }}" }',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    process.env = saved;
    await stack?.stop();
    await vendor?.close();
  });

  it('create → ls → describe → trigger → pause → unpause → delete, each with --json', async () => {
    const created = await warden(
      'schedule',
      'create',
      id,
      '--playbook',
      path.join(dir, 'report.yaml'),
      '--every',
      '1h',
      '--overlap',
      'skip',
      '--catchup-window',
      '10m',
      '--input',
      '{"team":"blue"}',
      '--description',
      'weekly report for team blue',
      '--paused',
      '--json',
    );
    expect(created).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(created.out)).toMatchObject({ id, playbook: 'weekly-report', spec: 'every 1h', paused: true });

    const ls = await waitFor(
      async () => JSON.parse((await warden('schedule', 'ls', '--json')).out) as ScheduleView[],
      (l) => l.some((s) => s.id === id),
    );
    expect(ls.find((s) => s.id === id)).toMatchObject({ playbook: 'weekly-report', paused: true });
    const table = await warden('schedule', 'ls');
    expect(table.out).toMatch(/^ID\s+PLAYBOOK\s+SPEC\s+STATE/);

    const described = await warden('schedule', 'describe', id);
    expect(described.out).toMatch(/spec:\s+every 1h/);
    expect(described.out).toMatch(/state:\s+paused/);

    const triggered = await warden('schedule', 'trigger', id, '--json');
    const run = (JSON.parse(triggered.out) as { run: { workflowId: string } }).run;
    expect(run.workflowId).toMatch(new RegExp(`^scheduled-${id}-`));
    expect(await stack.client.result(run.workflowId)).toMatchObject({ status: 'completed' });
    expect(vendor.requests.some((r) => (r.body as { title?: string }).title === 'weekly report for blue')).toBe(true);

    expect((await warden('schedule', 'unpause', id)).out).toBe(`schedule ${id} active\n`);
    expect(JSON.parse((await warden('schedule', 'pause', id, '--note', 'freeze', '--json')).out)).toMatchObject({
      paused: true,
      note: 'freeze',
    });
    expect(JSON.parse((await warden('schedule', 'delete', id, '--json')).out)).toEqual({ schedule: id, deleted: true });
    const gone = await warden('schedule', 'describe', id);
    expect(gone.code).toBe(1);
    expect(gone.err).toBe(`warden: no schedule "${id}" — list schedules with \`warden schedule ls\`\n`);
  });

  it('takes a bundled playbook by name and input from stdin', async () => {
    const bundled = `cli-bundled-${randomUUID().slice(0, 8)}`;
    const r = await warden(
      'schedule',
      'create',
      bundled,
      '--playbook',
      'alert-triage',
      '--cron',
      '0 6 * * *',
      '--input',
      '-',
      '--paused',
      '--json',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ playbook: 'alert-triage', spec: 'cron 0 6 * * *' });
    await warden('schedule', 'delete', bundled);
  });

  it('syncs a declarations file: created, then unchanged', async () => {
    const sid = `cli-sync-${randomUUID().slice(0, 8)}`;
    const file = path.join(dir, 'schedules.yaml');
    fs.writeFileSync(
      file,
      [
        'schedules:',
        `  - id: ${sid}`,
        '    description: nightly',
        '    interval: 24h',
        '    playbook: ./report.yaml',
        '    input: { team: red }',
      ].join('\n'),
    );
    expect(JSON.parse((await warden('schedule', 'sync', '--file', file, '--json')).out)).toEqual([
      { id: sid, outcome: 'created' },
    ]);
    expect((await warden('schedule', 'sync', '--file', file)).out).toMatch(new RegExp(`${sid}\\s+unchanged`));
    expect(JSON.parse((await warden('schedule', 'describe', sid, '--json')).out)).toMatchObject({ paused: true });
    await warden('schedule', 'delete', sid);
  });

  it('reports bad usage as one clear line (exit 1) and creates nothing', async () => {
    const pb = path.join(dir, 'report.yaml');
    const cases: [string[], RegExp][] = [
      [['--playbook', pb], /give --cron <expr> or --every <duration>/],
      [['--playbook', pb, '--every', '1h', '--cron', '* * * * *'], /either --cron or --every, not both/],
      [['--playbook', pb, '--every', 'sometimes'], /every: must be a duration/],
      [['--playbook', pb, '--every', '1h', '--overlap', 'maybe'], /overlap: /],
      [['--playbook', pb, '--every', '1h', '--input', '{team'], /--input is not valid JSON/],
      [
        ['--playbook', path.join(dir, 'missing.yaml'), '--every', '1h'],
        /cannot read playbook .*missing\.yaml \(ENOENT\)/,
      ],
      [
        ['--playbook', 'no-such-playbook', '--every', '1h'],
        /unknown playbook "no-such-playbook" — give a playbook file path or a bundled name \(.*alert-triage/,
      ],
      [['--playbook', pb, '--cron', 'not a cron'], /Temporal refused schedule/],
    ];
    for (const [args, message] of cases) {
      const sid = `cli-bad-${randomUUID().slice(0, 8)}`;
      const r = await warden('schedule', 'create', sid, ...args);
      expect({ code: r.code, lines: r.err.trim().split('\n').length }).toEqual({ code: 1, lines: 1 });
      expect(r.err).toMatch(message);
      expect((await warden('schedule', 'describe', sid)).code).toBe(1);
    }
  });
});
