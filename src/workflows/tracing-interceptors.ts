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
  SPAN_DELIMITER,
  SpanName,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import { SpanExporter } from '@temporalio/interceptors-opentelemetry/lib/workflow/span-exporter';
import { headersWithContext } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import { SpanStatusCode, TraceFlags, context, trace } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { Headers } from '@temporalio/common';
import type {
  ActivityInput,
  LocalActivityInput,
  Next,
  WorkflowInterceptors,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { LEAN_STEPS_PATCH, isSettledPatched } from './engine/patches';

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

/**
 * Activities and local activities of lean runs (engine/patches.ts LEAN_STEPS_PATCH) get the span Temporal's
 * interceptor gives them — same name, parent, header and status — ended by one `then` instead of four async
 * wrappers; other runs (and workflows that are not playbook runs) keep Temporal's own path.
 */
class Outbound extends OpenTelemetryOutboundInterceptor {
  protected override readonly tracer = workflowTracer();

  override scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    if (!isSettledPatched(LEAN_STEPS_PATCH)) return super.scheduleActivity(input, next);
    return spanAround(this.tracer, input.activityType, input.headers, (headers) => next({ ...input, headers }));
  }

  override scheduleLocalActivity(
    input: LocalActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>,
  ) {
    if (!isSettledPatched(LEAN_STEPS_PATCH)) return super.scheduleLocalActivity(input, next);
    return spanAround(this.tracer, input.activityType, input.headers, (headers) => next({ ...input, headers }));
  }
}

/** Schedules with the span's context in the headers; the span ends when the (local) activity does. */
function spanAround(
  tracer: Tracer,
  activityType: string,
  headers: Headers,
  schedule: (headers: Headers) => Promise<unknown>,
): Promise<unknown> {
  const span = tracer.startSpan(`${SpanName.ACTIVITY_START}${SPAN_DELIMITER}${activityType}`);
  const failed = (err: unknown): never => {
    // As Temporal's interceptor records it: a benign application failure leaves the status unset.
    const benign = err instanceof ApplicationFailure && err.category === ApplicationFailureCategory.BENIGN;
    span.setStatus({
      code: benign ? SpanStatusCode.UNSET : SpanStatusCode.ERROR,
      message: err instanceof Error ? err.message : String(err),
    });
    span.recordException(err as Error);
    span.end();
    throw err;
  };
  let scheduled: Promise<unknown>;
  try {
    scheduled = context.with(trace.setSpan(context.active(), span), () => schedule(headersWithContext(headers)));
  } catch (err) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what was thrown, unchanged
    scheduled = Promise.reject(err);
  }
  return scheduled.then((value) => {
    span.setStatus({ code: SpanStatusCode.OK });
    span.end();
    return value;
  }, failed);
}

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new Inbound()],
  outbound: [new Outbound()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
