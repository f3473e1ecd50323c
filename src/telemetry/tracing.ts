import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { WARDEN_VERSION } from '../version';

/** The workflow interceptor module bundled with Warden's workflows (spans inside workflow code). */
export const WORKFLOW_TRACING_MODULE = require.resolve('../workflows/tracing-interceptors');

let contextManagerInstalled = false;
/**
 * Activities read the active span through the global context API, and Temporal's interceptors carry the
 * span context in headers with the global propagator: give Node an async-aware context manager and W3C
 * trace-context propagation (both no-ops by default).
 */
function installContextManager(): void {
  if (contextManagerInstalled) return;
  contextManagerInstalled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/** What a worker needs to emit traces: interceptors, the workflow-span sink, and a shutdown hook. */
export interface WorkerTracing {
  interceptors: WorkerInterceptors;
  sinks: InjectedSinks<Record<string, never>>;
  tracer: Tracer;
  shutdown(): Promise<void>;
}

/**
 * Sets up OpenTelemetry for a worker: spans run → step → agent turn → LLM call / tool call / approval
 * wait, through Temporal's OpenTelemetry interceptors (same version as the SDK). Exports over OTLP/HTTP
 * when `otlpEndpoint` is set (OTEL_EXPORTER_OTLP_ENDPOINT), or to the given processor (tests); otherwise
 * spans are created and dropped.
 */
export function createWorkerTracing(opts: {
  serviceName: string;
  otlpEndpoint?: string;
  spanProcessor?: SpanProcessor;
}): WorkerTracing {
  installContextManager();
  const resource = new Resource({ 'service.name': opts.serviceName, 'service.version': WARDEN_VERSION });
  const processors: SpanProcessor[] = [];
  if (opts.spanProcessor) processors.push(opts.spanProcessor);
  if (opts.otlpEndpoint) {
    processors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opts.otlpEndpoint.replace(/\/$/, '')}/v1/traces` })),
    );
  }
  const provider = new BasicTracerProvider({ resource, spanProcessors: processors });
  const tracer = provider.getTracer('warden', WARDEN_VERSION);
  // Workflow spans leave the sandbox through a sink, into the same processors.
  const fanout: SpanProcessor = {
    onStart: (span, ctx) => processors.forEach((p) => p.onStart(span, ctx)),
    onEnd: (span) => processors.forEach((p) => p.onEnd(span)),
    forceFlush: async () => void (await Promise.all(processors.map((p) => p.forceFlush()))),
    shutdown: async () => void (await Promise.all(processors.map((p) => p.shutdown()))),
  };
  return {
    tracer,
    interceptors: {
      workflowModules: [WORKFLOW_TRACING_MODULE],
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(fanout, resource) } as unknown as InjectedSinks<Record<string, never>>,
    shutdown: async () => {
      await provider.forceFlush();
      await provider.shutdown();
    },
  };
}

/** Sets attributes on the span of the activity being executed (no-op without tracing). */
export function annotateActiveSpan(attributes: Record<string, string | number | boolean | string[] | undefined>): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) span.setAttribute(k, v);
}
