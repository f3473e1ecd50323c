/** One event in Splunk HTTP Event Collector format. */
export interface HecEvent {
  /** Epoch seconds (fractions allowed). */
  time: number;
  sourcetype: string;
  source?: string;
  index?: string;
  host?: string;
  event: unknown;
}

/** Options for {@link postToHec}. */
export interface HecOptions {
  /** Splunk HEC base URL (e.g. `https://splunk.example.com:8088`); `/services/collector/event` is added. */
  url: string;
  /** The HEC token (a secret: sent only in the Authorization header, never printed). */
  token: string;
  /** Events per POST. @default 100 */
  batchSize?: number;
  /** Attempts per batch on 5xx, 429 or a network error. @default 5 */
  maxAttempts?: number;
  /** First retry delay, doubled each attempt (capped at 30 s); a Retry-After header wins. @default 500 */
  backoffMs?: number;
  /** Per-request timeout. @default 15000 */
  timeoutMs?: number;
  /** Test seams. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** What a completed post did. */
export interface HecResult {
  events: number;
  batches: number;
  retries: number;
}

/** HEC refused or kept failing. `sent` events were acknowledged before the failing batch. Never holds the token. */
export class HecError extends Error {
  override readonly name = 'HecError';
  constructor(
    message: string,
    readonly sent: number,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The event endpoint for a HEC base URL, without credentials or query (safe to print). */
export function hecEndpoint(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new HecError(`--hec-url is not a URL (expected e.g. https://splunk.example.com:8088)`, 0);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new HecError('--hec-url must be http(s)://', 0);
  const base = u.pathname.replace(/\/+$/, '');
  const path = base.endsWith('/services/collector/event')
    ? base
    : base.endsWith('/services/collector')
      ? `${base}/event`
      : `${base}/services/collector/event`;
  return `${u.protocol}//${u.host}${path}`;
}

async function describeFailure(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { text?: unknown; code?: unknown };
    if (typeof body.text === 'string') return `HTTP ${res.status}, HEC code ${String(body.code)}: ${body.text}`;
  } catch {
    // not JSON
  }
  return `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
}

function retryAfterMs(res: Response): number | undefined {
  const h = res.headers.get('retry-after');
  if (!h) return undefined;
  const s = Number(h);
  return Number.isFinite(s) && s >= 0 ? Math.min(s * 1000, 60_000) : undefined;
}

/**
 * Posts events to Splunk HEC in batches (`POST <url>/services/collector/event`, header
 * `Authorization: Splunk <token>`, body = the batch's events as concatenated JSON objects).
 *
 * Retries a batch on 5xx, 429 and network errors with exponential backoff; any other refusal (bad
 * token, bad index, malformed data) fails at once. A resend after an ambiguous failure can duplicate
 * events in Splunk: deduplicate on `seq` / `leaf_hash`, which every Warden event carries.
 *
 * @throws HecError naming the endpoint and Splunk's answer (never the token), with how many events were
 *   sent before the failing batch so the caller can resume.
 */
export async function postToHec(
  events: AsyncIterable<HecEvent> | Iterable<HecEvent>,
  opts: HecOptions,
): Promise<HecResult> {
  const endpoint = hecEndpoint(opts.url);
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const batchSize = Math.max(1, opts.batchSize ?? 100);
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
  const backoff = opts.backoffMs ?? 500;
  const result: HecResult = { events: 0, batches: 0, retries: 0 };

  const send = async (batch: HecEvent[]): Promise<void> => {
    const body = batch.map((e) => JSON.stringify(e)).join('\n');
    let last = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let wait = Math.min(backoff * 2 ** (attempt - 1), 30_000);
      try {
        const res = await doFetch(endpoint, {
          method: 'POST',
          headers: { Authorization: `Splunk ${opts.token}`, 'Content-Type': 'application/json' },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
        });
        if (res.ok) {
          await res.arrayBuffer().catch(() => undefined);
          return;
        }
        last = await describeFailure(res);
        if (res.status !== 429 && res.status < 500) {
          const hint =
            res.status === 401 || res.status === 403
              ? ': check the HEC token (WARDEN_HEC_TOKEN or --hec-token-file)'
              : '';
          throw new HecError(`Splunk HEC at ${endpoint} refused a batch (${last})${hint}`, result.events, res.status);
        }
        wait = retryAfterMs(res) ?? wait;
      } catch (err) {
        if (err instanceof HecError) throw err;
        const e = err as Error & { cause?: { code?: string } };
        last = e.name === 'TimeoutError' ? 'timed out' : e.cause?.code ? `${e.message}: ${e.cause.code}` : e.message;
      }
      if (attempt < maxAttempts) {
        result.retries++;
        await sleep(wait);
      }
    }
    throw new HecError(`Splunk HEC at ${endpoint} kept failing (${last}) after ${maxAttempts} attempts`, result.events);
  };

  let batch: HecEvent[] = [];
  for await (const e of events) {
    batch.push(e);
    if (batch.length >= batchSize) {
      await send(batch);
      result.events += batch.length;
      result.batches++;
      batch = [];
    }
  }
  if (batch.length) {
    await send(batch);
    result.events += batch.length;
    result.batches++;
  }
  return result;
}
