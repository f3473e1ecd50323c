import { UNGRADED_SEVERITY, severityFromScore } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { firstText, firstTime, isRecord, list, num, text, texts } from '../raw-fields';
import type { AlertParser, Evidence } from './parser';
import { trusted, uniqueUsers, userOf } from './parser';

/*
 * Proofpoint TAP SIEM API events (https://help.proofpoint.com/Threat_Insight_Dashboard/API_Documentation/SIEM_API):
 * messages delivered/blocked and clicks permitted/blocked. Trust: recipients are our mailboxes that
 * Proofpoint delivered to, `senderIP`/`clickIP` are addresses it saw, attachment hashes it computed and
 * the threat it condemned are its own findings: trusted. Senders, From/Reply-To headers, subjects and
 * display names are whatever the mail's author wrote: untrusted.
 */

const SCORES = ['malwareScore', 'phishScore', 'impostorScore', 'spamScore'] as const;

/** Proofpoint TAP message and click events. */
export const proofpointParser: AlertParser = {
  format: 'proofpoint',
  matches: (raw): raw is JsonRecord =>
    isRecord(raw) &&
    (Array.isArray(raw.threatsInfoMap) ||
      (text(raw.clickIP) !== undefined && text(raw.threatID) !== undefined) ||
      (Array.isArray(raw.messageParts) && text(raw.QID) !== undefined)) &&
    (text(raw.messageID) !== undefined || text(raw.GUID) !== undefined || text(raw.clickTime) !== undefined),
  parse(raw) {
    const threats = list(raw.threatsInfoMap).filter(isRecord);
    const click = text(raw.clickIP) !== undefined;
    const scores = SCORES.map((k) => [k, num(raw[k])] as const).filter(([, v]) => v !== undefined) as Array<
      readonly [string, number]
    >;
    const top = scores.reduce<readonly [string, number] | undefined>(
      (a, b) => (a === undefined || b[1] > a[1] ? b : a),
      undefined,
    );
    const classification = firstText(threats[0]?.classification, raw.classification);
    const blocked = text(raw.quarantineFolder) !== undefined || /blocked/i.test(text(raw.eventType) ?? '');
    const threatEvidence: Evidence[] = threats.flatMap((t, i): Evidence[] => {
      const kind = text(t.threatType)?.toLowerCase();
      const value = text(t.threat);
      const field = `threatsInfoMap[${i}].threat`;
      if (kind === 'attachment' && value && /^[a-f0-9]{64}$/i.test(value))
        return [{ field: `threatsInfoMap[${i}].sha256`, value: { sha256: value }, trusted: true }];
      if (kind === 'url') return [{ field, value: value, trusted: true }];
      return [{ field: `threatsInfoMap[${i}].threatUrl`, value: t.threatUrl, trusted: false }];
    });
    return {
      vendor: 'Proofpoint',
      product: 'TAP',
      alertId: firstText(raw.GUID, raw.id, raw.messageID),
      title:
        `Proofpoint TAP: ${click ? `${blocked ? 'blocked' : 'permitted'} click on` : blocked ? 'blocked' : 'delivered'} ` +
        `${classification ?? 'threat'} ${click ? 'URL' : `message${threats[0] ? ` (${text(threats[0].threatType) ?? 'threat'})` : ''}`}`,
      description: top ? `${top[0]} ${top[1]}` : undefined,
      severity: top ? severityFromScore(top[1], 100) : UNGRADED_SEVERITY,
      vendorSeverity: top ? top[1] : null,
      createdAt: firstTime(raw.messageTime, raw.clickTime, threats[0]?.threatTime),
      category: classification,
      tactics: [],
      techniques: [],
      hosts: [],
      users: uniqueUsers([
        ...texts(raw.recipient, raw.toAddresses, raw.ccAddresses).map((r) =>
          userOf(
            trusted(Array.isArray(raw.recipient) || typeof raw.recipient === 'string' ? 'recipient' : 'toAddresses'),
            r,
            undefined,
            {
              kind: 'user',
            },
          ),
        ),
      ]),
      evidence: [
        { field: 'senderIP', value: raw.senderIP, trusted: true },
        { field: 'clickIP', value: raw.clickIP, trusted: true },
        { field: 'url', value: raw.url, trusted: true },
        {
          field: 'messageParts',
          value: list(raw.messageParts).map((p) => (isRecord(p) ? { md5: p.md5, sha256: p.sha256 } : p)),
          trusted: true,
        },
        ...threatEvidence,
        { field: 'sender', value: raw.sender, trusted: false },
        { field: 'fromAddress', value: raw.fromAddress, trusted: false },
        { field: 'headerFrom', value: raw.headerFrom, trusted: false },
        { field: 'replyToAddress', value: raw.replyToAddress, trusted: false },
      ],
      untrusted: {
        subject: firstText(raw.subject),
        filePath:
          texts(
            list(raw.messageParts).map((p) => (isRecord(p) ? p.filename : undefined)),
            threats.filter((t) => text(t.threatType) === 'attachment').map((t) => t.threat),
          ).join(', ') || undefined,
      },
      detectionHints: texts(
        classification,
        threats.map((t) => t.threatType),
        click ? 'phish click' : 'phishing e-mail',
      ),
      skipKey: (key) => key === 'campaignID' || key === 'campaignId',
    };
  },
};
