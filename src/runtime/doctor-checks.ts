import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { WardenConfig } from '../config';
import { temporalAddress } from '../config';

/** The outcome of one doctor check: `warn` is worth knowing but does not fail the deployment. */
export interface DoctorCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'skipped';
  /** What was found. */
  detail: string;
  /** What to do about it, when it is not ok. */
  fix?: string;
}

/** gRPC enum values (temporal.api.enums.v1), spelled out to keep @temporalio/proto out of the CLI. */
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE = { workflow: 1, activity: 2 } as const;
/** Clock skew beyond this fails: signed approvals and controls carry timestamps checked against it. */
const MAX_SKEW_MS = 5_000;
/** Clock skew beyond this is worth a warning. */
const WARN_SKEW_MS = 1_000;

const errorText = (err: unknown): string => ((err as Error).message ?? String(err)).split('\n')[0] ?? 'failed';

async function timed<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const { withTimeout } = await import('./readiness');
  return withTimeout(p, ms, what);
}

async function checkTemporal(config: WardenConfig): Promise<{ check: DoctorCheck; client?: Client }> {
  const { connectClient } = await import('./connection');
  const where = temporalAddress(config);
  let client: Client;
  try {
    client = await connectClient(config, 5_000);
  } catch (err) {
    return {
      check: {
        name: 'temporal',
        status: 'fail',
        detail: errorText(err),
        fix: 'check TEMPORAL_ADDRESS, TLS settings and that the cluster is up',
      },
    };
  }
  const namespace = config.temporal.namespace;
  try {
    await timed(client.workflowService.describeNamespace({ namespace }), 5_000, 'Temporal');
    return {
      check: { name: 'temporal', status: 'ok', detail: `${where} answers; namespace ${namespace} exists` },
      client,
    };
  } catch (err) {
    await client.connection.close();
    const missing = /not found/i.test(errorText(err));
    return {
      check: {
        name: 'temporal',
        status: 'fail',
        detail: missing ? `${where} answers, but has no namespace ${namespace}` : errorText(err),
        fix: missing
          ? `create it (temporal operator namespace create ${namespace}) or set TEMPORAL_NAMESPACE`
          : 'check TEMPORAL_ADDRESS, TLS settings and the namespace permissions of this identity',
      },
    };
  }
}

async function checkWorkers(config: WardenConfig, client: Client): Promise<DoctorCheck> {
  const { rateLimitedQueue } = await import('../activities/governance');
  const { llmTaskQueue } = await import('../activities/llm');
  const llmQueue = llmTaskQueue(config.taskQueue);
  const queues: { name: string; types: (keyof typeof TASK_QUEUE_TYPE)[] }[] = [
    { name: config.taskQueue, types: ['workflow', 'activity'] },
    // Agent steps' LLM calls run here; without a poller they wait until their timeout.
    { name: llmQueue, types: ['activity'] },
    ...Object.keys(config.governance.rateLimits).map((cls) => ({
      name: rateLimitedQueue(config.taskQueue, cls),
      types: ['activity' as const],
    })),
  ];
  const idle: { name: string; label: string }[] = [];
  const polled: string[] = [];
  for (const q of queues) {
    for (const type of q.types) {
      const res = await timed(
        client.workflowService.describeTaskQueue({
          namespace: config.temporal.namespace,
          taskQueue: { name: q.name, kind: TASK_QUEUE_KIND_NORMAL },
          taskQueueType: TASK_QUEUE_TYPE[type],
        }),
        5_000,
        'Temporal',
      );
      const pollers = res.pollers?.length ?? 0;
      if (pollers) polled.push(`${q.name} (${type}: ${pollers} poller${pollers > 1 ? 's' : ''})`);
      else idle.push({ name: q.name, label: `${q.name} (${type})` });
    }
  }
  if (!idle.length) return { name: 'workers', status: 'ok', detail: `polled: ${polled.join(', ')}` };
  // Only the LLM queue idle: workers run, but not ones that serve LLM calls (an older build or a custom worker).
  const onlyLlm = idle.every((q) => q.name === llmQueue);
  return {
    name: 'workers',
    status: 'fail',
    detail: `no worker polls ${idle.map((q) => q.label).join(', ')}${onlyLlm ? '; agent steps wait for LLM calls no worker runs' : ''}`,
    fix: onlyLlm
      ? `run \`warden worker\` of this release (it polls ${llmQueue} with WARDEN_LLM_CONCURRENCY slots); a custom worker must also serve callModel on ${llmQueue}`
      : `start \`warden worker\` with WARDEN_TASK_QUEUE=${config.taskQueue} (and the same WARDEN_RATE_LIMITS) against this namespace`,
  };
}

async function checkPolicy(config: WardenConfig): Promise<DoctorCheck> {
  const { loadPolicy } = await import('./policy-file');
  try {
    const policy = loadPolicy(config);
    return {
      name: 'policy',
      status: 'ok',
      detail: `${policy.document.name} (${policy.version.slice(0, 19)}…) from ${config.policyFile}`,
    };
  } catch (err) {
    return {
      name: 'policy',
      status: 'fail',
      detail:
        errorText(err) === 'Invalid configuration:' ? (err as Error).message.replace(/\s+/g, ' ') : errorText(err),
      fix: `fix ${config.policyFile} (WARDEN_POLICY_FILE); \`warden policy check <table>\` tests its decisions`,
    };
  }
}

async function checkLedger(config: WardenConfig): Promise<DoctorCheck> {
  const { openAuditStore, verifyStore, readPublicKeyFiles, publicKeyRing, PUBLIC_KEY_FILE } = await import('../audit');
  const where = config.audit.databaseUrl
    ? 'the PostgreSQL ledger (WARDEN_AUDIT_DATABASE_URL)'
    : config.audit.sqliteFile;
  let store;
  try {
    store = await openAuditStore(config, { create: false });
  } catch (err) {
    return {
      name: 'ledger',
      status: 'fail',
      detail: errorText(err),
      fix: 'point WARDEN_DATA_DIR / WARDEN_AUDIT_DATABASE_URL at the ledger the workers write',
    };
  }
  try {
    if (!config.audit.databaseUrl) {
      try {
        fs.accessSync(config.audit.sqliteFile, fs.constants.W_OK);
        fs.accessSync(path.dirname(config.audit.sqliteFile), fs.constants.W_OK);
      } catch {
        return {
          name: 'ledger',
          status: 'fail',
          detail: `${where} is not writable by this user`,
          fix: 'run workers as the ledger’s owner, or fix the file and directory permissions',
        };
      }
    }
    const local = path.join(config.audit.keysDir, PUBLIC_KEY_FILE);
    const files = config.audit.publicKeyFiles.length
      ? config.audit.publicKeyFiles
      : fs.existsSync(local)
        ? [local]
        : [];
    if (!files.length)
      return {
        name: 'ledger',
        status: 'warn',
        detail: `${where} opens, but no public key to verify its checkpoints with`,
        fix: 'set WARDEN_AUDIT_PUBLIC_KEYS to the checkpoint signing key’s public key',
      };
    const result = await verifyStore(store, publicKeyRing(readPublicKeyFiles(files)), {});
    if (!result.ok)
      return {
        name: 'ledger',
        status: 'fail',
        detail: `${where} does not verify: ${result.reason ?? 'a record does not verify'} (seq ${result.firstBadSeq ?? '?'})`,
        fix: 'run `warden audit verify` for the details, and treat it as an incident',
      };
    return {
      name: 'ledger',
      status: 'ok',
      detail: `${where}: writable; ${result.checked} records and ${result.checkpoints} checkpoints verify`,
    };
  } catch (err) {
    return { name: 'ledger', status: 'fail', detail: errorText(err), fix: 'run `warden audit verify` for the details' };
  } finally {
    await store.close();
  }
}

async function checkVault(config: WardenConfig): Promise<DoctorCheck> {
  const [{ createSecretStore }, { vaultCheck }] = await Promise.all([
    import('../credentials/from-config'),
    import('./readiness'),
  ]);
  const { vault } = createSecretStore(config, {});
  if (!fs.existsSync(vault.file))
    return { name: 'vault', status: 'ok', detail: `no vault yet at ${vault.file} (no secrets stored)` };
  try {
    await vaultCheck(vault).check();
    return { name: 'vault', status: 'ok', detail: `${vault.file} reads and decrypts with the master key` };
  } catch (err) {
    return {
      name: 'vault',
      status: 'fail',
      detail: errorText(err),
      fix: 'check WARDEN_VAULT_FILE and the master key (WARDEN_MASTER_KEY / WARDEN_MASTER_KEY_FILE)',
    };
  }
}

async function checkLlm(config: WardenConfig): Promise<DoctorCheck> {
  const { baseURL, apiKey, model } = config.llm;
  if (!baseURL && !apiKey)
    return {
      name: 'llm',
      status: 'warn',
      detail: 'no LLM endpoint configured: agent steps fail on fleet workers (`warden dev` runs its embedded model)',
      fix: 'set OPENAI_BASE_URL (and OPENAI_API_KEY) on the workers',
    };
  const url = `${(baseURL ?? 'https://api.openai.com/v1').replace(/\/+$/, '')}/models`;
  try {
    const res = await fetch(url, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok)
      return {
        name: 'llm',
        status: 'fail',
        detail: `GET ${url} answered ${res.status}`,
        fix:
          res.status === 401 || res.status === 403
            ? 'check OPENAI_API_KEY'
            : 'check OPENAI_BASE_URL (it must end in /v1 for most servers)',
      };
    const body = (await res.json().catch(() => ({}))) as { data?: { id?: string }[] };
    const ids = (body.data ?? []).map((m) => m.id);
    return ids.length && !ids.includes(model)
      ? {
          name: 'llm',
          status: 'warn',
          detail: `${url} answers, but does not list the model ${model}`,
          fix: `set WARDEN_LLM_MODEL to one it serves (${ids.slice(0, 5).join(', ')})`,
        }
      : { name: 'llm', status: 'ok', detail: `${url} answers (${ids.length} models; ${model} configured)` };
  } catch (err) {
    return {
      name: 'llm',
      status: 'fail',
      detail: `GET ${url}: ${errorText(err)}`,
      fix: 'check OPENAI_BASE_URL and that the endpoint is up',
    };
  }
}

/** A healthCheck run (client → Temporal → worker → activity) and the clock skew against Temporal's clock. */
async function checkRoundTrip(config: WardenConfig, client: Client): Promise<DoctorCheck[]> {
  const workflowId = `doctor-${randomUUID()}`;
  const sent = Date.now();
  let serverStart: number | undefined;
  let received: number;
  try {
    const handle = await client.workflow.start('healthCheck', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [{ requestedBy: 'warden doctor' }],
      workflowExecutionTimeout: '1 minute',
    });
    received = Date.now();
    serverStart = (await handle.describe()).startTime.getTime();
    await timed(handle.result(), 20_000, 'the healthCheck run');
  } catch (err) {
    return [
      {
        name: 'round-trip',
        status: 'fail',
        detail: `healthCheck ${workflowId}: ${errorText(err)}`,
        fix: 'see the worker logs; `warden status ' + workflowId + '`',
      },
    ];
  }
  const roundTrip: DoctorCheck = {
    name: 'round-trip',
    status: 'ok',
    detail: `healthCheck ${workflowId} completed in ${Date.now() - sent} ms`,
  };
  // Temporal stamps the start with its own clock somewhere between our send and its answer.
  const skew = serverStart - (sent + received) / 2;
  const uncertainty = (received - sent) / 2;
  const abs = Math.max(0, Math.abs(skew) - uncertainty);
  const clock: DoctorCheck =
    abs > MAX_SKEW_MS
      ? {
          name: 'clock',
          status: 'fail',
          detail: `this machine’s clock is ${Math.round(skew)} ms off Temporal’s (±${Math.round(uncertainty)} ms)`,
          fix: 'sync the clock (NTP/chrony): signed approvals and controls are time-checked',
        }
      : {
          name: 'clock',
          status: abs > WARN_SKEW_MS ? 'warn' : 'ok',
          detail: `skew vs Temporal ${Math.round(skew)} ms (±${Math.round(uncertainty)} ms)`,
          ...(abs > WARN_SKEW_MS ? { fix: 'sync the clock (NTP/chrony)' } : {}),
        };
  return [roundTrip, clock];
}

/** Runs every check in order; checks that need Temporal or a worker are skipped when those fail. */
export async function runDoctor(config: WardenConfig): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const { check, client } = await checkTemporal(config);
  checks.push(check);
  let workersOk = false;
  if (client) {
    try {
      const workers = await checkWorkers(config, client).catch((err: unknown): DoctorCheck => ({
        name: 'workers',
        status: 'fail',
        detail: errorText(err),
      }));
      checks.push(workers);
      workersOk = workers.status === 'ok';
      checks.push(
        await checkPolicy(config),
        await checkLedger(config),
        await checkVault(config),
        await checkLlm(config),
      );
      if (workersOk) checks.push(...(await checkRoundTrip(config, client)));
      else checks.push({ name: 'round-trip', status: 'skipped', detail: 'no worker polls the task queue' });
    } finally {
      await client.connection.close();
    }
  } else {
    checks.push(
      { name: 'workers', status: 'skipped', detail: 'Temporal unreachable' },
      await checkPolicy(config),
      await checkLedger(config),
      await checkVault(config),
      await checkLlm(config),
      { name: 'round-trip', status: 'skipped', detail: 'Temporal unreachable' },
    );
  }
  return checks;
}
