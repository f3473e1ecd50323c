import path from 'node:path';
import { z } from 'zod';
import type { WardenConfig } from '../../config';
import { ConfigError } from '../../errors';
import type { ItsmSettings } from './connectors/itsm';
import { settings as SETTINGS } from './settings';
import type { Category } from './ticket';
import { DEFAULT_CATEGORIES } from './ticket';

/** The bundled sample knowledge base (fictional; written for the demo). */
export const SAMPLE_KB_DIR = path.join(__dirname, 'knowledge-base');

/** Everything ticket triage's tools and triggers need, resolved from its settings and the core config. */
export interface TicketTriageOptions {
  itsm: ItsmSettings;
  okta: { baseUrl: string | undefined };
  kb: { dir: string; dbFile: string; baseUrl: string | undefined };
  categories: Category[];
  autoResolve: string[];
  defaultQueue: string;
  confidenceThreshold: number;
  poll: { dbFile: string; limit: number; settleSeconds: number; lookbackMinutes: number };
  dataDir: string;
}

/**
 * Parses raw settings (environment strings by name) with the use case's own table. The core does this when
 * it registers the use case; tests and the eval call it directly.
 * @throws ConfigError naming every bad setting.
 */
export function parseSettings(raw: Record<string, string | undefined>): Record<string, unknown> {
  const shape = Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, s.schema]));
  const present = Object.fromEntries(
    Object.entries(raw).filter(([k, v]) => k in SETTINGS && v !== undefined && v !== ''),
  );
  const res = z.object(shape).safeParse(present);
  if (!res.success)
    throw new ConfigError(
      res.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(present[String(i.path[0])])}: ${i.message}`),
    );
  return res.data;
}

/** `name=Queue,name` → categories; a name without a queue keeps the default taxonomy's queue or the default queue. */
export function parseCategories(spec: string | undefined, defaultQueue: string): Category[] {
  if (spec === undefined || spec.trim() === '') return DEFAULT_CATEGORIES.map((c) => ({ ...c }));
  return spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const [name, queue] = p.split('=').map((s) => s.trim()) as [string, string | undefined];
      const known = DEFAULT_CATEGORIES.find((c) => c.name === name);
      return { name, description: known?.description ?? '', queue: queue || known?.queue || defaultQueue };
    });
}

/** Resolves options from the core config and this use case's parsed settings. */
export function resolveOptions(config: WardenConfig, s: Record<string, unknown>): TicketTriageOptions {
  const str = (k: string) => s[k] as string | undefined;
  const dataDir = path.join(config.dataDir, 'tickets');
  const defaultQueue = (s.WARDEN_TICKETS_DEFAULT_QUEUE as string | undefined) ?? 'Service Desk';
  return {
    itsm: {
      servicenow: {
        url: str('WARDEN_TICKETS_SERVICENOW_URL'),
        auth: (str('WARDEN_TICKETS_SERVICENOW_AUTH') as 'basic' | 'bearer' | undefined) ?? 'basic',
        filter: str('WARDEN_TICKETS_SERVICENOW_FILTER') ?? 'active=true',
        closeCode: str('WARDEN_TICKETS_SERVICENOW_CLOSE_CODE') ?? 'Solution provided',
      },
      jira: {
        url: str('WARDEN_TICKETS_JIRA_URL'),
        jql: str('WARDEN_TICKETS_JIRA_JQL'),
        doneTransition: str('WARDEN_TICKETS_JIRA_DONE_TRANSITION'),
      },
      verification: {
        servicenowChannels: (s.WARDEN_TICKETS_VERIFIED_CHANNELS as string[] | undefined) ?? [
          'self-service',
          'virtual_agent',
        ],
        jiraAccountTypes: (s.WARDEN_TICKETS_JIRA_VERIFIED_ACCOUNT_TYPES as string[] | undefined) ?? ['atlassian'],
      },
      outboxDir: path.join(dataDir, 'outbox'),
    },
    okta: { baseUrl: config.containment.oktaBaseUrl },
    kb: {
      dir: path.resolve(str('WARDEN_TICKETS_KB_DIR') ?? SAMPLE_KB_DIR),
      dbFile: path.join(dataDir, 'knowledge.db'),
      baseUrl: str('WARDEN_TICKETS_KB_BASE_URL'),
    },
    categories: parseCategories(str('WARDEN_TICKETS_CATEGORIES'), defaultQueue),
    autoResolve: (s.WARDEN_TICKETS_AUTO_RESOLVE as string[] | undefined) ?? [
      'password_reset',
      'account_unlock',
      'how_to',
    ],
    defaultQueue,
    confidenceThreshold: (s.WARDEN_TICKETS_CONFIDENCE_THRESHOLD as number | undefined) ?? 0.75,
    poll: {
      dbFile: path.join(dataDir, 'poll.db'),
      limit: (s.WARDEN_TICKETS_POLL_LIMIT as number | undefined) ?? 50,
      settleSeconds: (s.WARDEN_TICKETS_POLL_SETTLE_SECONDS as number | undefined) ?? 60,
      lookbackMinutes: (s.WARDEN_TICKETS_POLL_LOOKBACK_MINUTES as number | undefined) ?? 60,
    },
    dataDir,
  };
}
