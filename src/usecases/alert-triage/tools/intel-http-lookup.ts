import { ApplicationFailure } from '@temporalio/common';
import { refang } from 'ioc-extractor';
import { z } from 'zod';
import { scrubValues } from '../../../credentials/scrub';
import { FailureType } from '../../../errors';
import { WARDEN_VERSION } from '../../../version';
import type { IntelLookupResult } from './intel-lookup';
import {
  IntelLookupInput,
  IntelLookupResult as IntelLookupResultSchema,
  IntelVerdict,
  classifyIndicator,
} from './intel-lookup';
import type { Capability } from '../../../tools/types';
import { defineTool } from '../../../tools/types';

/** Settings of the `intel_http_lookup` tool (WARDEN_INTEL_HTTP_*). */
export interface IntelHttpConfig {
  /** The provider's lookup endpoint; the tool POSTs each lookup there. */
  url: string;
  /** Header that carries the API key; `authorization` sends `Bearer <key>`. @default 'x-api-key' */
  authHeader?: string;
  /** Upper bound for one lookup. @default 10000 */
  timeoutMs?: number;
  /** Larger responses are an error. @default 1048576 */
  maxResponseBytes?: number;
}

/** The credential the tool leases for each call: the intel provider's API key, lookup scope. */
export const INTEL_HTTP_CAPABILITY: Capability = { provider: 'intel', scopes: ['lookup'] };

/**
 * The response contract of an HTTP intel provider. Request: `POST <url>` with
 * `{"indicator": "...", "type": "ip|domain|url|md5|sha1|sha256|email|other"}` and the API key in the
 * configured header. Response: 200 with this JSON (unknown fields ignored), or 404 for "never seen" (read as
 * verdict `unknown`). 401/403 fail at once (fix the key); other statuses fail and are retried.
 */
export const IntelProviderResponse = z.object({
  verdict: IntelVerdict,
  /** Optional provider score, 0-100. */
  score: z.number().min(0).max(100).optional(),
  sources: z
    .array(z.object({ feed: z.string().optional(), name: z.string().optional(), detail: z.string().optional() }))
    .optional(),
});
/** The response contract of an HTTP intel provider. */
export type IntelProviderResponse = z.infer<typeof IntelProviderResponse>;

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxBytes) throw new Error(`the response is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Builds the `intel_http_lookup` tool: asks a configured HTTP threat-intel provider about one indicator
 * (contract: {@link IntelProviderResponse}). The API key comes from the vault through a lease on the
 * `intel` provider (`warden secrets set intel.api_token`); it is sent only in the configured header and never
 * appears in a result, a log line or an error message. Register it only when WARDEN_INTEL_HTTP_URL is set.
 *
 * @throws Error when the URL is not an absolute http(s) URL.
 */
export function createIntelHttpLookupTool(config: IntelHttpConfig) {
  let endpoint: URL;
  try {
    endpoint = new URL(config.url);
  } catch {
    throw new Error(
      `intel_http_lookup: WARDEN_INTEL_HTTP_URL is not an absolute URL; set it to the provider's lookup endpoint`,
    );
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:')
    throw new Error(`intel_http_lookup: WARDEN_INTEL_HTTP_URL must be http(s), not ${endpoint.protocol}`);
  const header = (config.authHeader ?? 'x-api-key').toLowerCase();
  const timeoutMs = config.timeoutMs ?? 10_000;
  const maxBytes = config.maxResponseBytes ?? 1_048_576;
  // Names host and path only: a query string can hold credentials.
  const target = `POST ${endpoint.host}${endpoint.pathname}`;

  return defineTool({
    name: 'intel_http_lookup',
    description: `Asks the configured threat-intel provider (${endpoint.host}) for a verdict on an IP, domain, URL, hash or e-mail address.`,
    input: IntelLookupInput,
    output: IntelLookupResultSchema,
    risk: 'read',
    capabilities: [INTEL_HTTP_CAPABILITY],
    rateLimitClass: 'intel',
    integration: 'intel_http',
    summarize: (args) => `intel ${target} ${args.indicator}`,

    async execute(args, ctx): Promise<IntelLookupResult> {
      const indicator = refang(args.indicator.trim());
      const type = args.type ?? classifyIndicator(indicator);
      const key = await ctx.credential(INTEL_HTTP_CAPABILITY);
      const fail = (message: string) => new Error(`intel_http_lookup: ${target} ${scrubValues(message, [key])}`);
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            'user-agent': `warden/${WARDEN_VERSION}`,
            [header]: header === 'authorization' ? `Bearer ${key}` : key,
          },
          body: JSON.stringify({ indicator, type }),
          signal,
          redirect: 'error', // a redirect would carry the key to wherever the provider points
        });
      } catch (err) {
        if (ctx.signal.aborted) throw fail('aborted: the activity was cancelled');
        if (signal.aborted) throw fail(`timed out after ${timeoutMs} ms`);
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw fail(`failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
      }
      if (res.status === 404) {
        await res.body?.cancel();
        return { indicator, type, verdict: 'unknown', sources: [] };
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw ApplicationFailure.create({
          type: FailureType.ToolFailed,
          nonRetryable: true,
          message:
            `intel_http_lookup: ${target} rejected the API key (HTTP ${res.status}); ` +
            `store a valid key with \`warden secrets set intel.api_token\` (the configuration's problem, not the alert's)`,
        });
      }
      let body: string;
      try {
        body = await readCapped(res, maxBytes);
      } catch (err) {
        throw fail(`answered ${res.status} and reading the body failed: ${(err as Error).message}`);
      }
      if (res.status < 200 || res.status > 299) throw fail(`answered HTTP ${res.status}; retrying may help`);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw fail(`answered ${res.status} with a body that is not JSON (the provider's fault)`);
      }
      const parsed = IntelProviderResponse.safeParse(json);
      if (!parsed.success)
        throw fail(
          `answered with JSON that does not match the expected contract {verdict, score?, sources?} (the provider's fault): ` +
            parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
        );
      const sources = (parsed.data.sources ?? []).map((s) => ({
        feed: s.feed ?? s.name ?? endpoint.host,
        detail: s.detail ?? '',
      }));
      if (parsed.data.score !== undefined)
        sources.unshift({ feed: endpoint.host, detail: `score ${parsed.data.score}` });
      return { indicator, type, verdict: parsed.data.verdict, sources };
    },
  });
}
