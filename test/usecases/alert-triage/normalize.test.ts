import { NormalizedAlert, detectAlertFormat, normalizeAlert } from '../../../src/usecases/alert-triage';
import { MAX_CANDIDATES_PER_TYPE } from '../../../src/usecases/alert-triage/indicators';
import { isoTime } from '../../../src/usecases/alert-triage/raw-fields';
import { sharedDataPath } from '../../harness/shared-data';

/** Normalizes and checks the result against the schema, as every consumer may rely on it. */
function normalized(source: string, raw: unknown, receivedAt?: Date): NormalizedAlert {
  return NormalizedAlert.parse(normalizeAlert(source, raw, receivedAt ? { receivedAt } : {}));
}

describe('generic fallback', () => {
  const odd: Array<[string, unknown]> = [
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a boolean', false],
    ['a string', 'just text with 8.8.8.8 in it'],
    ['an empty object', {}],
    ['an empty array', []],
    ['an array of alerts', [{ title: 'a' }, { title: 'b' }]],
    ['an object with odd values', { title: 7, severity: { nested: true }, timestamp: 'not a date', tags: [null] }],
    ['a payload posing as a vendor format', { event_simpleName: 'ProcessRollup2', event: 'not an object' }],
  ];

  it.each(odd)('normalizes %s without throwing', (_name, raw) => {
    const alert = normalized('generic', raw);
    expect(alert.title).not.toBe('');
    expect(alert.alertId).toMatch(/\S/);
  });

  it('extracts indicators from every string value, refanging defanged ones, all untrusted', () => {
    const alert = normalized('generic', {
      note: 'beacon to hxxps://evil-cdn[.]example[.]net/gate.php from 203.0.113.9',
      nested: [{ deeper: { hash: 'D41D8CD98F00B204E9800998ECF8427E', mail: 'ops[@]example.org' } }],
    });
    expect(alert.observables.every((o) => !o.trusted)).toBe(true);
    expect(alert.observables).toContainEqual({
      type: 'md5',
      value: 'd41d8cd98f00b204e9800998ecf8427e',
      field: 'nested[0].deeper.hash',
      trusted: false,
    });
    expect(alert.indicators.urls).toContain('https://evil-cdn.example.net/gate.php');
    expect(alert.indicators.domains).toEqual(expect.arrayContaining(['evil-cdn.example.net']));
    expect(alert.indicators.ips).toContain('203.0.113.9');
    expect(alert.indicators.hashes.md5).toContain('d41d8cd98f00b204e9800998ecf8427e');
    expect(alert.indicators.emails).toContain('ops@example.org');
  });

  it('keeps real public addresses such as 1.1.1.1 but drops never-indicators', () => {
    const alert = normalized('generic', {
      a: 'dns 1.1.1.1, bind 0.0.0.0, loop 127.0.0.1, bcast 255.255.255.255, arn:aws:iam::123456789012:role/x',
      b: '0000000000000000000000000000000000000000',
    });
    expect(alert.indicators.ips).toEqual(['1.1.1.1']);
    expect(alert.indicators.hashes.sha1).toEqual([]);
  });

  it('survives deep nesting, cycles and BigInts, with a stable digest id', () => {
    let deep: unknown = 'bottom 198.51.100.4';
    for (let i = 0; i < 20_000; i++) deep = [deep];
    const cyclic: Record<string, unknown> = { title: 'loop', ip: '198.51.100.5' };
    cyclic.self = cyclic;
    for (const raw of [deep, cyclic, { n: BigInt(1), title: 'big' }]) {
      const first = normalized('generic', raw);
      expect(normalized('generic', raw).alertId).toBe(first.alertId);
    }
    expect(normalized('generic', cyclic).indicators.ips).toEqual(['198.51.100.5']);
    expect(normalized('generic', deep).indicatorsTruncated).toBe(true);
  });

  it('bounds the work on huge and adversarial payloads: cut strings, capped candidates, flagged as truncated', () => {
    // Timing belongs in bench/; here the bounds themselves are checked.
    for (const huge of ['a.'.repeat(2_500_000), 'x'.repeat(5_000_000), '1.'.repeat(2_500_000)]) {
      const alert = normalized('generic', { title: 'huge', body: huge, more: [huge, huge] });
      expect(alert.indicatorsTruncated).toBe(true);
      expect(alert.raw.bytes).toBeGreaterThan(5_000_000);
    }
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, `v${i}.example.com`]));
    const alert = normalized('generic', wide);
    expect(alert.indicatorsTruncated).toBe(true);
    expect(alert.indicators.domains.length).toBeLessThanOrEqual(MAX_CANDIDATES_PER_TYPE);
    expect(alert.indicators.domains).toContain('v0.example.com');
  });

  it('derives the id from the payload, not from key order or whitespace', () => {
    const a = normalized('generic', { b: 1, a: { y: 'x', x: 'y' } });
    const b = normalized('generic', JSON.parse('{ "a": {"x":"y","y":"x"}, "b": 1 }'));
    expect(a.alertId).toBe(b.alertId);
    expect(a.alertId).toMatch(/^sha256-[0-9a-f]{32}$/);
    expect(normalized('generic', { b: 2, a: { y: 'x', x: 'y' } }).alertId).not.toBe(a.alertId);
  });

  it("uses the vendor's id, time and severity words from common field names", () => {
    const alert = normalized('acme', {
      alert_id: 'A-17',
      title: 'Impossible travel',
      severity: 'CRITICAL',
      created_at: '2025-03-01 10:00:00',
      host: { name: 'laptop-1' },
      user: 'CORP\\jdoe',
    });
    expect(alert).toMatchObject({
      vendor: 'acme',
      alertId: 'A-17',
      severity: 'critical',
      vendorSeverity: 'CRITICAL',
      createdAt: '2025-03-01T10:00:00.000Z',
      assets: {
        hosts: [{ hostname: 'laptop-1', field: 'host.name', trusted: false }],
        users: [{ name: 'jdoe', domain: 'CORP', field: 'user', trusted: false }],
      },
    });
  });

  it('falls back to the receipt time and an ungraded severity of medium', () => {
    const receivedAt = new Date('2025-05-05T05:05:05.000Z');
    const alert = normalized('generic', { message: 'something happened' }, receivedAt);
    expect(alert.createdAt).toBe(receivedAt.toISOString());
    expect(alert.severity).toBe('medium');
    expect(alert.title).toBe('something happened');
  });
});

describe('format detection', () => {
  const eve = {
    timestamp: '2024-01-01T00:00:00.000000+0000',
    event_type: 'alert',
    src_ip: '10.0.0.5',
    dest_ip: '203.0.113.80',
    alert: { signature: 'ET MALWARE Test', category: 'A Network Trojan was detected', severity: 1 },
  };

  it('follows the payload shape when the source name does not match it', () => {
    expect(detectAlertFormat('splunk', eve)).toBe('suricata');
    expect(detectAlertFormat('generic', eve)).toBe('suricata');
    expect(detectAlertFormat('GuardDuty', { foo: 1 })).toBe('generic');
  });

  it('reads a GuardDuty finding inside an EventBridge envelope', () => {
    const alert = normalized('guardduty', {
      source: 'aws.guardduty',
      'detail-type': 'GuardDuty Finding',
      detail: {
        id: 'f1',
        type: 'UnauthorizedAccess:EC2/SSHBruteForce',
        arn: 'arn:aws:guardduty:us-east-1:111122223333:detector/d/finding/f1',
        severity: 5.0,
        title: 'SSH brute force',
        createdAt: '2024-02-02T02:02:02.000Z',
        resource: { instanceDetails: { instanceId: 'i-0abc', networkInterfaces: [{ privateIpAddress: '10.1.2.3' }] } },
        service: {
          serviceName: 'guardduty',
          action: { networkConnectionAction: { remoteIpDetails: { ipAddressV4: '198.51.100.66' } } },
        },
      },
    });
    expect(alert).toMatchObject({
      format: 'guardduty',
      alertId: 'f1',
      severity: 'medium',
      category: 'UnauthorizedAccess',
    });
    expect(alert.indicators.ips).toEqual(['10.1.2.3', '198.51.100.66']);
    expect(alert.assets.hosts).toEqual([
      {
        hostname: 'i-0abc',
        ip: '10.1.2.3',
        deviceId: 'i-0abc',
        field: 'detail.resource.instanceDetails.instanceId',
        trusted: true,
      },
    ]);
  });

  it('maps Suricata priority 1 to high and names the internal side as the host', () => {
    const alert = normalized('suricata', eve);
    expect(alert.severity).toBe('high');
    expect(alert.assets.hosts).toEqual([{ hostname: '10.0.0.5', ip: '10.0.0.5', field: 'src_ip', trusted: true }]);
  });
});

describe('vendor timestamps', () => {
  it.each([
    ['2023-04-21 19:52:32.722', '2023-04-21T19:52:32.722Z'],
    ['2018-02-09T21:32:13.120749+0000', '2018-02-09T21:32:13.120Z'],
    ['2022-11-17T19:17:42.694+0200', '2022-11-17T17:17:42.694Z'],
    ['2024-12-03 19:54:30.000000000', '2024-12-03T19:54:30.000Z'],
    ['1682106752722', '2023-04-21T19:52:32.722Z'],
    [1682106752.006, '2023-04-21T19:52:32.006Z'],
    ['Wed, 05 Jun 2024 09:15:24 GMT', '2024-06-05T09:15:24.000Z'],
  ])('reads %p as %s', (value, iso) => {
    expect(isoTime(value)).toBe(iso);
  });

  it.each(['Jun 04 09:30:10', 'none', '42', ''])('rejects %p', (value) => {
    expect(isoTime(value)).toBeUndefined();
  });
});

describe('shared data requirement', () => {
  it('fails with a message naming the required folder when it is absent', () => {
    expect(() => sharedDataPath('no-such-folder')).toThrow(
      /no-such-folder is missing: .*\.\.\/shared\/data.*CI always has it/,
    );
  });
});
