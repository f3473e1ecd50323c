import { evaluatePolicy } from '../../../src/governance/policy';
import type { PolicyRequest } from '../../../src/governance/policy';
import { routeTicket } from '../../../src/usecases/ticket-triage/route';
import type { RouteInput } from '../../../src/usecases/ticket-triage/route';
import { DEFAULT_AUTO_RESOLVE, DEFAULT_CATEGORIES } from '../../../src/usecases/ticket-triage/ticket';
import { ticketPolicy } from './ticket-policy';

const rules = {
  categories: DEFAULT_CATEGORIES,
  autoResolve: DEFAULT_AUTO_RESOLVE,
  confidenceThreshold: 0.75,
  defaultQueue: 'Service Desk',
};
const cls = (category: string, confidence = 0.9, article: string | null = null) => ({
  category,
  priority: 'low' as const,
  language: 'en',
  confidence,
  summary: 's',
  article,
  reply: 'r',
});
const found = { found: true, id: '00u1', status: 'ACTIVE', emailMatches: true };
const input = (c: ReturnType<typeof cls>, extra: Partial<RouteInput> = {}): RouteInput => ({
  classification: c,
  knowledgePaths: ['vpn-setup.md'],
  requester: { verified: true, directory: found },
  ...extra,
});

describe('ticket routing', () => {
  it('resets the password of a verified requester found in the directory', () => {
    expect(routeTicket(input(cls('password_reset')), rules)).toMatchObject({
      plan: 'reset_password',
      directoryId: '00u1',
      needsIdentityCheck: false,
      lowConfidence: false,
      queue: 'Service Desk',
    });
  });

  it('asks a human to confirm identity when the ticket system did not authenticate the requester', () => {
    const r = routeTicket(input(cls('account_unlock'), { requester: { verified: false, directory: found } }), rules);
    expect(r).toMatchObject({ plan: 'unlock_account', needsIdentityCheck: true });
  });

  it('escalates account recovery for a requester missing from the directory or whose email does not match', () => {
    expect(
      routeTicket(input(cls('password_reset'), { requester: { verified: true, directory: null } }), rules).plan,
    ).toBe('escalate');
    const r = routeTicket(
      input(cls('password_reset'), { requester: { verified: true, directory: { ...found, emailMatches: false } } }),
      rules,
    );
    expect(r).toMatchObject({ plan: 'escalate', reasons: [expect.stringMatching(/does not carry/)] });
  });

  it('replies to a how-to question only with an article found for the ticket', () => {
    expect(routeTicket(input(cls('how_to', 0.9, 'vpn-setup.md')), rules)).toMatchObject({
      plan: 'reply',
      article: 'vpn-setup.md',
    });
    const invented = routeTicket(input(cls('how_to', 0.9, 'secret-admin-guide.md')), rules);
    expect(invented).toMatchObject({
      plan: 'escalate',
      article: null,
      reasons: expect.arrayContaining([expect.stringMatching(/not found/)]),
    });
  });

  it('escalates categories that are not auto-resolved to their queue, and sends unknown categories or low confidence to a human', () => {
    expect(routeTicket(input(cls('hardware')), rules)).toMatchObject({
      plan: 'escalate',
      queue: 'Desktop Support',
      lowConfidence: false,
    });
    expect(routeTicket(input(cls('Network VPN')), rules)).toMatchObject({ category: 'network_vpn', queue: 'Network' });
    expect(routeTicket(input(cls('reboot the mainframe')), rules)).toMatchObject({
      category: 'unknown',
      lowConfidence: true,
      plan: 'escalate',
    });
    expect(routeTicket(input(cls('password_reset', 0.4)), rules)).toMatchObject({
      lowConfidence: true,
      plan: 'reset_password',
    });
    expect(routeTicket(input(cls('password_reset'), { ticketClosed: true }), rules).plan).toBe('none');
  });
});

describe('ticket triage policy (default policy + fragment)', () => {
  const policy = ticketPolicy();
  const decide = (tool: string, args: unknown, context: unknown, run: Partial<PolicyRequest['run']> = {}) =>
    evaluatePolicy(policy, {
      step: { id: 's', kind: 'action' },
      tool: { name: tool, known: true, risk: 'write', capabilities: [] },
      args,
      context,
      run: { workflowId: 'ticket-x', initiator: 'webhook:servicenow', tainted: true, ...run },
    });
  const requester = { directoryId: '00uREQ', verified: true };

  it('allows account recovery for the verified requester named by the ticket system', () => {
    const d = decide('account_reset_password', { user: '00uREQ' }, { requester, identityConfirmedBy: [] });
    expect(d).toMatchObject({ effect: 'allow', ruleId: 'account-recovery-requester' });
  });

  it('denies account recovery for anyone else, for an unverified requester no approver confirmed, and for agents', () => {
    expect(decide('account_reset_password', { user: '00uCEO' }, { requester, identityConfirmedBy: [] })).toMatchObject({
      effect: 'deny',
      ruleId: 'account-recovery-not-requester',
    });
    expect(decide('account_unlock', { user: '00uCEO' }, {})).toMatchObject({
      effect: 'deny',
      ruleId: 'account-recovery-not-requester',
    });
    const unverified = { requester: { directoryId: '00uREQ', verified: false }, identityConfirmedBy: [] };
    expect(decide('account_unlock', { user: '00uREQ' }, unverified)).toMatchObject({
      effect: 'deny',
      ruleId: 'account-recovery-unverified',
    });
    const confirmed = { requester: { directoryId: '00uREQ', verified: false }, identityConfirmedBy: ['alice'] };
    expect(decide('account_unlock', { user: '00uREQ' }, confirmed)).toMatchObject({ effect: 'allow' });
    expect(
      decide('account_unlock', { user: '00uREQ' }, { requester }, { agent: 'agent:ticket-classifier' }),
    ).toMatchObject({
      effect: 'deny',
      ruleId: 'account-recovery-by-agent',
    });
  });

  it('lets routing resolve confident tickets citing a found article, and holds everything else for a human', () => {
    const route = { plan: 'reply', lowConfidence: false };
    const ctx = { route, knowledgePaths: ['vpn-setup.md'], reviewedBy: [] };
    expect(decide('ticket_resolve', { reply: 'Install the client.', article: 'vpn-setup.md' }, ctx).effect).toBe(
      'allow',
    );
    expect(decide('ticket_resolve', { reply: 'x', article: 'elsewhere.md' }, ctx)).toMatchObject({
      effect: 'deny',
      ruleId: 'ticket-resolve-cites-unknown-article',
    });
    expect(decide('ticket_resolve', { reply: 'see https://evil.example/login', article: null }, ctx)).toMatchObject({
      effect: 'require_approval',
      ruleId: 'ticket-resolve-with-link',
    });
    const low = { ...ctx, route: { plan: 'reply', lowConfidence: true } };
    expect(decide('ticket_resolve', { reply: 'x' }, low)).toMatchObject({
      effect: 'require_approval',
      ruleId: 'ticket-resolve-unconfirmed',
    });
    expect(decide('ticket_resolve', { reply: 'x' }, { ...low, reviewedBy: ['bob'] }).effect).toBe('allow');
    expect(decide('ticket_resolve', { reply: 'x' }, { ...ctx, route: { plan: 'escalate' } }).effect).toBe(
      'require_approval',
    );
  });

  it('allows internal notes, escalation and assignment; a public note waits for a human', () => {
    expect(decide('ticket_escalate', {}, {}).effect).toBe('allow');
    expect(decide('ticket_comment', { visibility: 'internal' }, {}).effect).toBe('allow');
    expect(decide('ticket_comment', { visibility: 'public' }, {}).effect).toBe('require_approval');
    expect(decide('ticket_poll', { source: 'jira' }, {}).effect).toBe('allow');
  });
});
