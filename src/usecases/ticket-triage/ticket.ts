import { z } from 'zod';

/*
 * One ticket model for every ticket system. Connectors turn a vendor record (a ServiceNow incident, a Jira
 * issue) into it; tools and the playbook see only this. The requester comes from the ticket system's own
 * structured fields (ServiceNow `caller_id`, Jira `reporter`), never from the ticket's text.
 */

/** The ticket systems Warden speaks to. */
export const TicketSystem = z.enum(['servicenow', 'jira']);
/** The ticket systems Warden speaks to. */
export type TicketSystem = z.infer<typeof TicketSystem>;

/** Longest description kept (payloads stay small; a ticket is read, not archived). */
export const MAX_DESCRIPTION_CHARS = 8_000;

/**
 * Who asked, from the ticket system's record. `verified` is true only when the ticket system itself
 * authenticated them: a ServiceNow incident opened by its caller through a verified channel (self-service
 * portal, virtual agent), a Jira request created by its reporter from a managed account. `reason` says why.
 */
export const Requester = z.object({
  /** The ticket system's id: ServiceNow sys_user sys_id, Jira accountId. */
  id: z.string().nullable(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  verified: z.boolean(),
  reason: z.string(),
});
/** Who asked. */
export type Requester = z.infer<typeof Requester>;

/** A ticket, normalized. */
export const Ticket = z.object({
  system: TicketSystem,
  /** Stable id: ServiceNow sys_id, Jira issue id. */
  id: z.string().min(1),
  /** What people call it: INC0010001, ITSD-42. */
  number: z.string().min(1),
  subject: z.string(),
  description: z.string(),
  status: z.string(),
  /** The vendor's own priority label, when it has one. */
  priority: z.string().nullable(),
  /** The vendor's own category, when it has one. */
  category: z.string().nullable(),
  /** How it came in: ServiceNow contact_type, or the Jira reporter's account type. */
  channel: z.string().nullable(),
  requester: Requester,
  createdAt: z.string(),
  updatedAt: z.string().nullable(),
  /** True once the ticket is resolved or closed in its system. */
  closed: z.boolean(),
  /** Link for humans. */
  url: z.string().nullable(),
  /** `api` when read from the ticket system now; `webhook` when taken from an authenticated delivery. */
  readFrom: z.enum(['api', 'webhook']),
});
/** A ticket, normalized. */
export type Ticket = z.infer<typeof Ticket>;

/** What the triage playbook is started with: which ticket, and (from a webhook) its record as delivered. */
export const TicketRef = z.object({
  source: TicketSystem,
  id: z.string().min(1).max(100),
  number: z.string().max(100).optional(),
  snapshot: Ticket.optional(),
});
/** What the triage playbook is started with. */
export type TicketRef = z.infer<typeof TicketRef>;

/** A ticket category of the taxonomy, with what it is for and where it goes. */
export interface Category {
  name: string;
  description: string;
  /** The queue (ServiceNow assignment group, Jira queue label) that owns it. */
  queue: string;
}

/**
 * The default taxonomy: what a corporate IT service desk sees most. Replace it with your ticket system's own
 * (WARDEN_TICKETS_CATEGORIES).
 */
export const DEFAULT_CATEGORIES: readonly Category[] = [
  { name: 'password_reset', description: 'forgotten or expired password, cannot sign in', queue: 'Service Desk' },
  { name: 'account_unlock', description: 'account locked out after failed sign-ins', queue: 'Service Desk' },
  {
    name: 'access_request',
    description: 'access to an application, share, group or system',
    queue: 'Identity & Access',
  },
  {
    name: 'how_to',
    description: 'a question on how to do something that documentation answers',
    queue: 'Service Desk',
  },
  { name: 'network_vpn', description: 'VPN, Wi-Fi, network or internet connectivity', queue: 'Network' },
  { name: 'email', description: 'mail, calendar, mailbox or distribution lists', queue: 'Collaboration' },
  { name: 'printer', description: 'printing, scanning, printer queues', queue: 'Desktop Support' },
  { name: 'software', description: 'installing, licensing or a fault in an application', queue: 'Desktop Support' },
  {
    name: 'hardware',
    description: 'laptop, desktop, monitor, phone or peripheral fault or request',
    queue: 'Desktop Support',
  },
  {
    name: 'security',
    description: 'phishing, suspicious activity, lost device, malware',
    queue: 'Security Operations',
  },
  { name: 'other', description: 'anything else', queue: 'Service Desk' },
];

/** Categories auto-resolved by default (when confident and policy allows): account recovery and how-to questions. */
export const DEFAULT_AUTO_RESOLVE: readonly string[] = ['password_reset', 'account_unlock', 'how_to'];

/** Trims a description to {@link MAX_DESCRIPTION_CHARS}, saying so. */
export function clipDescription(text: string): string {
  return text.length > MAX_DESCRIPTION_CHARS
    ? `${text.slice(0, MAX_DESCRIPTION_CHARS)}\n…[${text.length - MAX_DESCRIPTION_CHARS} more characters in the ticket]`
    : text;
}
