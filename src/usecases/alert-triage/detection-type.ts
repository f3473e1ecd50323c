import type { DetectionType } from './alert';

/** What the detection type is read from: the vendor's own naming of the detection. */
export interface DetectionFacts {
  title: string | undefined;
  category: string | undefined;
  product: string;
  vendor: string;
  tactics: string[];
  /** Vendor type codes and classifications (GuardDuty `type`, SentinelOne classification, ...). */
  hints: string[];
}

/**
 * Ordered: the first rule whose pattern matches wins, so the most telling kinds come first (a decoy
 * touched is a canary alert whatever else it says; "CompromisedData" is exfiltration before it is an attack).
 */
const RULES: ReadonlyArray<[DetectionType, RegExp]> = [
  ['canary', /canary|honey ?(?:token|pot|cred)|decoy|tracebit|thinkst|deception/],
  [
    'malware',
    /malware|virus|trojan|ransom|\bworm\b|backdoor|eicar|infostealer|stealer|crypto ?min|coin ?min|\bpup\b|adware/,
  ],
  ['phishing', /phish|impostor|spoof|\bbec\b|malicious (?:url|attachment|link)/],
  [
    'credential_theft',
    /credential|password ?spray|brute ?force|mimikatz|lsass|kerberoast|leaked (?:secret|key|token)|secret.scanning|exposed (?:secret|key)/,
  ],
  ['exfiltration', /exfiltrat|data (?:theft|loss|compromise)|compromised ?data|\bdlp\b/],
  ['privilege_escalation', /privilege ?escalation|administrative ?permissions|admin role|role (?:granted|assigned)/],
  [
    'defense_evasion',
    /defense ?evasion|impair defenses|stop ?logging|logging was stopped|trail was stopped|tamper|clear(?:ed)? (?:event )?logs?/,
  ],
  [
    'intrusion',
    /intrusion|unauthorized ?access|attack|exploit|\bc2\b|command and control|reverse shell|lateral movement/,
  ],
  ['execution', /execution|process|script|shell|command/],
  ['reconnaissance', /recon|discovery|scan|probe/],
  ['suspicious_login', /sign-?in|login|logon|authentication|\bmfa\b|push|impossible travel|anomalous/],
  ['file_change', /file (?:added|modified|deleted|integrity)|syscheck|\bfim\b/],
  ['misconfiguration', /misconfig|posture|compliance|exposed|public(?:ly)? (?:exposed|access)|cspm|vulnerab|cve-/],
  ['audit_event', /audit|activity|admin/],
];

/**
 * The kind of detection, from the vendor's own naming (type codes, category, tactics, title, product),
 * matched case-insensitively with CamelCase split into words. `unknown` when nothing matches.
 */
export function classifyDetection(facts: DetectionFacts): DetectionType {
  // The detection's own naming first; the product name ("Orca Scan", "DecoyDetector") only when that says nothing.
  for (const parts of [
    [...facts.hints, facts.category, ...facts.tactics, facts.title],
    [facts.product, facts.vendor],
  ]) {
    const text = parts
      .filter((s): s is string => typeof s === 'string' && s !== '')
      .join(' | ')
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .replace(/[_:/]/g, ' ')
      .toLowerCase();
    for (const [type, pattern] of RULES) if (pattern.test(text)) return type;
  }
  return 'unknown';
}
