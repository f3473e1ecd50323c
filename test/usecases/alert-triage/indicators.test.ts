import { extractIndicators, normalizeAlert } from '../../../src/usecases/alert-triage';

describe('indicator extraction in context', () => {
  it('takes no address from a user agent or a version string', () => {
    const found = extractIndicators([
      'Mozilla/5.0 (Macintosh) AppleWebKit/537.36 Chrome/108.0.0.0 Safari/537.36',
      'agent version 4.12.0.1 build 10.2.3.4',
      'sensor v10.0.1.2 upgraded',
    ]);
    expect(found.ips).toEqual([]);
  });

  it('keeps a standalone address next to punctuation', () => {
    expect(extractIndicators(['connection from 198.51.100.7:443 (src=203.0.113.5)']).ips).toEqual([
      '198.51.100.7',
      '203.0.113.5',
    ]);
  });

  it('takes no file name as a domain: paths, file fields, file-extension TLDs', () => {
    const alert = normalizeAlert('generic', {
      file_name: 'eicar.com',
      message: 'wrote C:\\Users\\x\\Downloads\\update.zip then ran eicar.com and setup.py',
      note: 'fetched update.zip',
    });
    expect(alert.indicators.domains).toEqual([]);
  });

  it('still finds real domains in text and in URLs, including under file-like TLDs', () => {
    const found = extractIndicators(['beacon to evil-cdn.example.net and https://download.zip/payload']);
    expect(found.domains).toEqual(['download.zip', 'evil-cdn.example.net']);
  });

  it('takes hashes only from hash-named fields or text that names them', () => {
    const alert = normalizeAlert('generic', {
      customer_ref: 'a3f5c9e1b2d4f6a8c0e2b4d6f8a0c2e4',
      session: 'b3f5c9e1b2d4f6a8c0e2b4d6f8a0c2e4',
      file_md5: 'c3f5c9e1b2d4f6a8c0e2b4d6f8a0c2e4',
      message: 'dropped file with SHA256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    });
    expect(alert.indicators.hashes.md5).toEqual(['c3f5c9e1b2d4f6a8c0e2b4d6f8a0c2e4']);
    expect(alert.indicators.hashes.sha256).toEqual([
      '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    ]);
  });

  it('drops network addresses N.0.0.0 and letterless digit runs', () => {
    const alert = normalizeAlert('generic', { net: '108.0.0.0', sha256: '1'.repeat(64) });
    expect(alert.indicators.ips).toEqual([]);
    expect(alert.indicators.hashes.sha256).toEqual([]);
  });
});
