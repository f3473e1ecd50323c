/*
 * The workflow interceptor module bundled with Warden's workflows: Temporal's OpenTelemetry workflow
 * interceptors (a span for the run and for every activity, child and signal, with the span context carried
 * to activities in headers), with every span exported the moment it ends.
 *
 * Temporal's module ends spans through OpenTelemetry's SimpleSpanProcessor, which wraps each export in three
 * promises; inside a workflow every promise pays for the SDK's promise hook (it captures a stack for the Web
 * UI's Stack Trace view), and those exports were a tenth of a governed run's workflow-thread time. The
 * export itself is synchronous (a sink call that leaves the sandbox with the activation), so this processor
 * calls it directly. Warden's own step spans (engine/tracing.ts) use the same tracer.
 */
// First: Temporal's module patches the sandbox (e.g. `performance`) that OpenTelemetry's SDK needs at load.
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import { SpanExporter } from '@temporalio/interceptors-opentelemetry/lib/workflow/span-exporter';
import { TraceFlags } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowInterceptors } from '@temporalio/workflow';

/** Hands each sampled span to the workflow span sink as it ends: no promise, no batching (none is needed). */
class ExportOnEnd implements SpanProcessor {
  private readonly exporter = new SpanExporter();
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    this.exporter.export([span], () => undefined);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let tracer: Tracer | undefined;

/** The tracer of workflow code (one per workflow execution: modules are evaluated per execution). */
export function workflowTracer(): Tracer {
  tracer ??= new BasicTracerProvider({ spanProcessors: [new ExportOnEnd()] }).getTracer('warden');
  return tracer;
}

class Inbound extends OpenTelemetryInboundInterceptor {
  protected override readonly tracer = workflowTracer();
}

class Outbound extends OpenTelemetryOutboundInterceptor {
  protected override readonly tracer = workflowTracer();
}

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new Inbound()],
  outbound: [new Outbound()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
