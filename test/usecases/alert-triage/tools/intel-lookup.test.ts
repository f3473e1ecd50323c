import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadIntelIndex } from '../../../../src/usecases/alert-triage/tools/intel-feeds';
import type { FeedKind, IntelIndex } from '../../../../src/usecases/alert-triage/tools/intel-feeds';
import {
  IntelLookupResult,
  createIntelLookupTool,
  discoverFeedFiles,
  lookupIndicator,
  sharedIntelIndex,
} from '../../../../src/usecases/alert-triage/tools/intel-lookup';
import { normalizeAlert } from '../../../../src/usecases/alert-triage';
import { describeWithSharedData, feedLines, readJson } from '../../../harness/shared-data';
import { testToolContext } from '../../../harness/tool-context';

const DEMO_DIR = path.join(__dirname, '..', '..', '..', '..', 'src', 'usecases', 'alert-triage', 'demo-data', 'intel');

/** A data line from the middle of a feed file, so the pick does not depend on the file's order. */
const middle = <T>(items: T[]): T => items[Math.floor(items.length / 2)]!;
describeWithSharedData('intel feeds from the real shared files', '.', (SHARED) => {
  const INTEL_DIR = path.join(SHARED, 'intel');
  const ALERTS_DIR = path.join(SHARED, 'alerts');
  const file = (name: string) => path.join(INTEL_DIR, name);
  const csvRows = (name: string) =>
    feedLines(file(name))
      .slice(1)
      .map((l) => l.split(','));
  let index: IntelIndex;
  beforeAll(async () => {
    index = await sharedIntelIndex(discoverFeedFiles(INTEL_DIR).feeds);
  });
  const lookup = (indicator: string) => IntelLookupResult.parse(lookupIndicator(index, indicator));

  it('recognizes every feed file by name and ignores the rest', () => {
    const { feeds, ignored } = discoverFeedFiles(INTEL_DIR);
    const kinds = Object.fromEntries(feeds.map((f) => [path.basename(f.file), f.kind]));
    expect(kinds).toEqual({
      'eset_malware_sha256.csv': 'hashes',
      'ipsum_top3000.tsv': 'ipsum',
      'maltrail_benign_whitelist.txt': 'benign',
      'maltrail_malware_iocs_sample.csv': 'maltrail',
      'urlhaus_online_hosts.txt': 'urlhaus_hosts',
      'urlhaus_online_urls_sample.csv': 'urlhaus_urls',
    });
    expect(ignored).toContain('SOURCES.md');
  });

  it('reads every data line of every feed', () => {
    const expected: Record<string, number> = {
      'ipsum_top3000.tsv': feedLines(file('ipsum_top3000.tsv')).length,
      'urlhaus_online_hosts.txt': feedLines(file('urlhaus_online_hosts.txt')).length,
      'maltrail_benign_whitelist.txt': feedLines(file('maltrail_benign_whitelist.txt')).length,
      // CSVs: minus the header row
      'urlhaus_online_urls_sample.csv': feedLines(file('urlhaus_online_urls_sample.csv')).length - 1,
      'maltrail_malware_iocs_sample.csv': feedLines(file('maltrail_malware_iocs_sample.csv')).length - 1,
      'eset_malware_sha256.csv': feedLines(file('eset_malware_sha256.csv')).length - 1,
    };
    for (const stats of index.stats.files) {
      expect(stats.entries).toBeGreaterThan(0);
      expect({ file: path.basename(stats.file), entries: stats.entries, skipped: stats.skipped }).toEqual({
        file: path.basename(stats.file),
        entries: expected[path.basename(stats.file)],
        skipped: 0,
      });
    }
    expect(index.stats.loadMs).toBeLessThan(10_000);
  });

  it('finds an ipsum IP with its blacklist count, malicious from 3 lists up', () => {
    const [ip, count] = middle(feedLines(file('ipsum_top3000.tsv'))).split('\t') as [string, string];
    const result = lookup(ip);
    expect(result).toMatchObject({ type: 'ip', verdict: Number(count) >= 3 ? 'malicious' : 'suspicious' });
    expect(result.sources).toContainEqual({ feed: 'ipsum', detail: `on ${count} blacklists (ipsum_top3000.tsv)` });
  });

  it('finds a URLhaus host and a URLhaus URL', () => {
    const benign = new Set(feedLines(file('maltrail_benign_whitelist.txt')));
    const hosts = feedLines(file('urlhaus_online_hosts.txt')).filter((h) => /[a-z]/i.test(h) && !benign.has(h));
    expect(lookup(middle(hosts))).toMatchObject({ type: 'domain', verdict: 'malicious' });

    const [host, urlPath] = middle(csvRows('urlhaus_online_urls_sample.csv')).map((c) => c.replace(/^"|"$/g, ''));
    const result = lookup(`https://${host}${urlPath}`);
    expect(result.verdict).toBe('malicious');
    expect(result.sources[0]).toEqual({ feed: 'urlhaus_urls', detail: expect.stringContaining('URLhaus') });
  });

  it.each(['domain', 'ip:port', 'url'])('finds a maltrail %s entry with its malware family', (type) => {
    const [indicator, , family] = middle(csvRows('maltrail_malware_iocs_sample.csv').filter((r) => r[1] === type)) as [
      string,
      string,
      string,
    ];
    const query = type === 'ip:port' ? indicator.split(':')[0]! : indicator;
    const result = lookup(query);
    expect(result.verdict).not.toBe('unknown');
    expect(result.sources.some((s) => s.feed === 'maltrail' && s.detail.startsWith(family))).toBe(true);
  });

  it('finds an ESET SHA-256 with its family, whatever the case', () => {
    const [sha256, family] = middle(csvRows('eset_malware_sha256.csv')) as [string, string];
    expect(lookup(sha256.toUpperCase())).toEqual({
      indicator: sha256.toUpperCase(),
      type: 'sha256',
      verdict: 'malicious',
      sources: [{ feed: 'hashes', detail: `${family} (eset_malware_sha256.csv)` }],
    });
  });

  it('marks a known-benign domain, and its subdomains, benign', () => {
    const listedAsMalicious = (d: string) => index.hosts.has(d);
    const domain = middle(
      feedLines(file('maltrail_benign_whitelist.txt')).filter((d) => d.split('.').length >= 2 && !listedAsMalicious(d)),
    );
    expect(lookup(domain)).toMatchObject({ verdict: 'benign', sources: [{ feed: 'benign' }] });
    expect(lookup(`www.${domain}`).verdict).toBe('benign');
  });

  it('turns an alert into a true positive when a real malicious IP is swapped in', async () => {
    const [badIp] = feedLines(file('ipsum_top3000.tsv'))
      .map((l) => l.split('\t'))
      .find(([, count]) => Number(count) >= 3)!;
    const eve = readJson<Record<string, unknown>>(
      path.join(ALERTS_DIR, 'suricata-eve-alert-gpl-attack-response-id-root.json'),
    );
    const alert = normalizeAlert('suricata', { ...eve, src_ip: badIp });
    expect(alert.indicators.ips).toContain(badIp);

    const tool = createIntelLookupTool({ dir: INTEL_DIR });
    const { ctx } = testToolContext({});
    const verdicts = await Promise.all(alert.indicators.ips.map((ip) => tool.execute({ indicator: ip }, ctx)));
    expect(verdicts.find((v) => v.indicator === badIp)).toMatchObject({ type: 'ip', verdict: 'malicious' });
    expect(verdicts.filter((v) => v.indicator !== badIp).every((v) => v.verdict !== 'malicious')).toBe(true);
  });

  it('turns a Wazuh FIM alert into a true positive when a real malware hash is swapped in', () => {
    const [sha256] = middle(csvRows('eset_malware_sha256.csv')) as [string];
    const fim = readJson<{ syscheck: Record<string, string> }>(path.join(ALERTS_DIR, 'wazuh-fim-554-file-added.json'));
    const alert = normalizeAlert('wazuh', { ...fim, syscheck: { ...fim.syscheck, sha256_after: sha256 } });
    expect(alert.indicators.hashes.sha256).toEqual([sha256]);
    expect(lookup(alert.indicators.hashes.sha256[0]!).verdict).toBe('malicious');
  });
});

describe('intel_lookup on the demo feeds', () => {
  const tool = createIntelLookupTool({ dir: DEMO_DIR });
  const run = async (indicator: string, type?: 'ip' | 'domain' | 'url' | 'email') => {
    const { ctx } = testToolContext({});
    return IntelLookupResult.parse(await tool.execute(type ? { indicator, type } : { indicator }, ctx));
  };

  it('is a read tool with no capability', () => {
    expect(tool).toMatchObject({ name: 'intel_lookup', risk: 'read', capabilities: [] });
  });

  it.each([
    ['203.0.113.66', 'malicious'],
    ['198.51.100.77', 'suspicious'], // on 2 blacklists only
    ['203.0.113.45', 'malicious'], // ipsum and a maltrail ip:port
    ['c2.example.org', 'malicious'],
    ['login.c2.example.org', 'malicious'], // maltrail domains cover subdomains
    ['malware-drop.example.net', 'malicious'],
    ['hxxp://malware-drop[.]example[.]net/payloads/invoice_2025.exe', 'malicious'],
    ['http://malware-drop.example.net/some/other/path', 'suspicious'], // listed host, unlisted URL
    ['275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F', 'malicious'], // EICAR
    ['user@beacon.example.net', 'suspicious'],
    ['www.github.com', 'benign'],
    ['8.8.4.4', 'unknown'],
    ['not an indicator', 'unknown'],
  ])('%s is %s', async (indicator, verdict) => {
    expect((await run(indicator)).verdict).toBe(verdict);
  });

  it('reports the type it inferred, or the one given', async () => {
    expect((await run('malware-drop.example.net/stage2.bin')).type).toBe('url');
    expect((await run('not an indicator')).type).toBe('other');
    expect((await run('c2.example.org', 'domain')).type).toBe('domain');
  });
});

describe('feed formats and configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-intel-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const load = (feeds: Array<[FeedKind, string]>) => loadIntelIndex(feeds.map(([kind, f]) => ({ kind, file: f })));

  it('reads hosts-file, adblock, bare-IP, trail-file and sha256sum lines', async () => {
    const index = await load([
      [
        'urlhaus_hosts',
        write('hosts.txt', '! adblock comment\n0.0.0.0 a.example.net\n||b.example.net^\n203.0.113.1\n'),
      ],
      ['ipsum', write('levels.txt', '# level file\n198.51.100.9\n')],
      ['maltrail', write('trail.txt', '# family file\nc.example.net\n198.51.100.10:443\n')],
      ['hashes', write('samples.sha256', `${'ab'.repeat(32)}  dropper.exe\n`)],
    ]);
    for (const indicator of [
      'a.example.net',
      'b.example.net',
      '203.0.113.1',
      '198.51.100.9',
      'c.example.net',
      '198.51.100.10',
    ])
      expect(lookupIndicator(index, indicator).verdict).toBe('malicious');
    expect(lookupIndicator(index, 'ab'.repeat(32)).verdict).toBe('malicious');
    expect(lookupIndicator(index, 'c.example.net').sources[0]!.detail).toBe('trail (trail.txt)');
  });

  it('shows a conflict between a listing and the benign list as suspicious', async () => {
    const index = await load([
      ['urlhaus_hosts', write('hosts.txt', 'cdn.example.com\n')],
      ['urlhaus_urls', write('urls.csv', 'url\nhttps://example.com/malware.exe\n')],
      ['benign', write('whitelist.txt', 'example.com\n')],
    ]);
    const conflict = lookupIndicator(index, 'cdn.example.com');
    expect(conflict.verdict).toBe('suspicious');
    expect(conflict.sources.map((s) => s.feed).sort()).toEqual(['benign', 'urlhaus_hosts']);
    // An exactly listed URL stays malicious on a benign host.
    expect(lookupIndicator(index, 'https://example.com/malware.exe').verdict).toBe('malicious');
  });

  it('says which file and which setting when a feed cannot be read', async () => {
    await expect(load([['ipsum', path.join(dir, 'missing.txt')]])).rejects.toThrow(
      /ipsum feed .*missing\.txt \(ENOENT\).*WARDEN_INTEL_DIR \/ WARDEN_INTEL_FEEDS/,
    );
  });

  it('refuses to start without any feed file', () => {
    expect(() => createIntelLookupTool({ dir })).toThrow(
      /no feed file found in .*WARDEN_INTEL_DIR or WARDEN_INTEL_FEEDS/,
    );
    expect(() => createIntelLookupTool({ dir: path.join(dir, 'nope') })).toThrow(/cannot read the directory/);
  });
});
