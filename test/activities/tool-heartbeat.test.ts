import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Info } from '@temporalio/activity';
import { DefaultLogger } from '@temporalio/worker';
import { ToolHeartbeat, WriteIntentNotRecorded } from '../../src/activities/tool-heartbeat';
import type { RecordHeartbeat, ToolHeartbeatDetails } from '../../src/activities/tool-heartbeat';
import { FalconClient, createEdrTools, createIdpTools } from '../../src/tools/containment';
import type { AnyTool } from '../../src/tools/types';
import { startFakeCrowdStrike } from '../harness/fake-crowdstrike';
import type { FakeCrowdStrike } from '../harness/fake-crowdstrike';
import { startFakeOkta } from '../harness/fake-okta';
import type { FakeOkta } from '../harness/fake-okta';
import { testToolContext } from '../harness/tool-context';

const OKTA_TOKEN = '00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcd';

let falcon: FakeCrowdStrike;
let okta: FakeOkta;
beforeEach(async () => {
  falcon = await startFakeCrowdStrike();
  okta = await startFakeOkta(OKTA_TOKEN);
});
afterEach(async () => {
  await falcon.close();
  await okta.close();
});

const edr = () => {
  const [isolate, release] = createEdrTools(new FalconClient({ baseUrl: falcon.url, timeoutMs: 5_000 }));
  return { isolate: isolate as AnyTool, release: release as AnyTool };
};
const idp = () => {
  const [disable, enable] = createIdpTools({ oktaBaseUrl: okta.url, timeoutMs: 5_000 });
  return { disable: disable as AnyTool, enable: enable as AnyTool };
};

interface Attempt {
  result?: Record<string, unknown>;
  err?: Error;
  /** The details of the last heartbeat, as Temporal would hand them to the next attempt. */
  lastBeat: ToolHeartbeatDetails | undefined;
}

/**
 * One attempt of a tool call in a mocked activity context, wired as the tool activity wires it: the tool's
 * heartbeat, write announcements and prior write come from a ToolHeartbeat on the activity's Context.
 */
async function attempt(
  tool: AnyTool,
  args: unknown,
  info: Partial<Info>,
  record?: RecordHeartbeat,
  beforeExecute?: (beats: ToolHeartbeat) => void,
): Promise<Attempt> {
  // The SDK logs each failed attempt; the failures here are the point of the test.
  const env = new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
  let lastBeat: ToolHeartbeatDetails | undefined;
  env.on('heartbeat', (d: ToolHeartbeatDetails) => (lastBeat = d));
  const secrets = { crowdstrike: `${falcon.clientId}:${falcon.clientSecret}`, okta: OKTA_TOKEN };
  const outcome = await env
    .run(async () => {
      const beats = new ToolHeartbeat(Context.current(), record);
      beforeExecute?.(beats);
      return (await tool.execute(tool.input.parse(args), {
        ...testToolContext(secrets).ctx,
        ...beats.toolContext(),
      })) as Record<string, unknown>;
    })
    .then(
      (result) => ({ result: result as Record<string, unknown> }),
      (err: unknown) => ({ err: err as Error }),
    );
  return { ...outcome, lastBeat };
}

describe('tool heartbeat: a retry knows the write its earlier attempt announced', () => {
  it('edr_isolate_host: the first attempt applies containment but loses the answer; the retry reports changed: true', async () => {
    const id = falcon.addDevice('web-01');
    falcon.loseNextActionAnswers(1);
    const recorded: Array<{ details: ToolHeartbeatDetails; actionsSoFar: number; taskToken: Uint8Array }> = [];
    const record: RecordHeartbeat = (info, details) => {
      recorded.push({ details, actionsSoFar: falcon.actionsFor(id).length, taskToken: info.taskToken });
      return Promise.resolve();
    };

    const first = await attempt(edr().isolate, { hostname: 'web-01' }, { attempt: 1 }, record);
    expect(first.err?.message).toMatch(/502/);
    expect(falcon.devices.get(id)?.status).toBe('contained');
    // Announced, and recorded with Temporal, before Falcon saw the containment request.
    const intent = { action: 'contain', target: id, before: 'normal' };
    expect(recorded).toEqual([{ details: { writeIntent: intent }, actionsSoFar: 0, taskToken: expect.any(Buffer) }]);
    expect(first.lastBeat).toEqual({ writeIntent: intent });

    const retry = await attempt(
      edr().isolate,
      { hostname: 'web-01' },
      { attempt: 2, heartbeatDetails: first.lastBeat },
      record,
    );
    expect(retry.result).toMatchObject({
      deviceId: id,
      changed: true,
      appliedByEarlierAttempt: true,
      status: 'contained',
    });
    expect(falcon.actionsFor(id)).toEqual([{ deviceId: id, action: 'contain', outcome: 'applied' }]);
  });

  it('a host found contained with no announcement from an earlier attempt stays changed: false', async () => {
    const id = falcon.addDevice('web-01', 'contained');
    const progressOnly = await attempt(
      edr().isolate,
      { deviceId: id },
      { attempt: 2, heartbeatDetails: { progress: { hop: 1 } } },
    );
    expect(progressOnly.result).toMatchObject({ changed: false, status: 'contained' });
    expect(progressOnly.result).not.toHaveProperty('appliedByEarlierAttempt');
    // Details from before this format (or garbage) are ignored, not trusted.
    const foreign = await attempt(edr().isolate, { deviceId: id }, { attempt: 2, heartbeatDetails: 'x' });
    expect(foreign.result).toMatchObject({ changed: false });
  });

  it('an announcement for another host, another action, or a host already contained does not count', async () => {
    const id = falcon.addDevice('web-01', 'contained');
    const other = falcon.addDevice('web-02');
    const priors = [
      { action: 'contain', target: other, before: 'normal' },
      { action: 'lift_containment', target: id, before: 'normal' },
      { action: 'contain', target: id, before: 'containment_pending' },
    ];
    for (const writeIntent of priors) {
      const r = await attempt(edr().isolate, { deviceId: id }, { attempt: 2, heartbeatDetails: { writeIntent } });
      expect(r.result).toMatchObject({ changed: false });
    }
  });

  it('the retry of a release after a lost answer reports changed: true too', async () => {
    const id = falcon.addDevice('web-01', 'contained');
    falcon.loseNextActionAnswers(1);
    const first = await attempt(edr().release, { deviceId: id }, { attempt: 1 });
    expect(first.err).toBeDefined();
    const retry = await attempt(edr().release, { deviceId: id }, { attempt: 2, heartbeatDetails: first.lastBeat });
    expect(retry.result).toMatchObject({ action: 'lift_containment', changed: true, appliedByEarlierAttempt: true });
    expect(falcon.actionsFor(id)).toHaveLength(1);
  });

  it('when Temporal does not take the announcement, nothing is sent to the vendor', async () => {
    const id = falcon.addDevice('web-01');
    const r = await attempt(edr().isolate, { deviceId: id }, { attempt: 1 }, () =>
      Promise.reject(new Error('activity not found\nstack')),
    );
    expect(r.err).toBeInstanceOf(WriteIntentNotRecorded);
    expect(r.err?.message).toBe(
      `could not record the intent to contain ${id} with Temporal, so nothing was sent to the vendor: activity not found`,
    );
    expect(falcon.actionsFor(id)).toEqual([]);
    expect(falcon.devices.get(id)?.status).toBe('normal');
  });

  it('an attempt that dies before announcing its own write carries the earlier announcement forward', async () => {
    const writeIntent = { action: 'contain', target: 'a'.repeat(32), before: 'normal' };
    const r = await attempt(
      edr().isolate,
      { deviceId: 'b'.repeat(32) },
      { attempt: 2, heartbeatDetails: { writeIntent } },
      undefined,
      (beats) => beats.beat({ waiting: 'kill switch' }),
    );
    expect(r.err).toBeDefined(); // no such device: nothing announced by this attempt
    expect(r.lastBeat).toEqual({ writeIntent, progress: { waiting: 'kill switch' } });
  });

  it('idp_disable_user and idp_enable_user: a retry after a lost answer reports changed: true', async () => {
    const id = okta.addUser('alice@example.com');
    okta.loseNextLifecycleAnswers(1);
    const first = await attempt(idp().disable, { user: 'alice@example.com' }, { attempt: 1 });
    expect(first.err?.message).toMatch(/502/);
    expect(first.lastBeat).toEqual({ writeIntent: { action: 'suspend', target: id, before: 'ACTIVE' } });
    const retry = await attempt(
      idp().disable,
      { user: 'alice@example.com' },
      { attempt: 2, heartbeatDetails: first.lastBeat },
    );
    expect(retry.result).toMatchObject({ changed: true, appliedByEarlierAttempt: true, status: 'SUSPENDED' });
    expect(okta.users.get(id)).toMatchObject({ status: 'SUSPENDED', sessions: 0 });

    okta.loseNextLifecycleAnswers(1);
    const up = await attempt(idp().enable, { user: id }, { attempt: 1 });
    expect(up.err).toBeDefined();
    const upRetry = await attempt(idp().enable, { user: id }, { attempt: 2, heartbeatDetails: up.lastBeat });
    expect(upRetry.result).toMatchObject({ action: 'unsuspend', changed: true, appliedByEarlierAttempt: true });
    expect(okta.operations.filter((o) => o.op === 'suspend' || o.op === 'unsuspend')).toEqual([
      { userId: id, op: 'suspend', outcome: 'applied' },
      { userId: id, op: 'unsuspend', outcome: 'applied' },
    ]);

    // A user suspended by someone else, with no announcement of ours, is not this run's change.
    const bob = okta.addUser('bob@example.com', 'SUSPENDED');
    const notOurs = await attempt(idp().disable, { user: bob }, { attempt: 1 });
    expect(notOurs.result).toMatchObject({ changed: false });
    expect(notOurs.result).not.toHaveProperty('appliedByEarlierAttempt');
  });
});
