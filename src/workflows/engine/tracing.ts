import { SpanStatusCode } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { workflowTracer } from '../tracing-interceptors';

/*
 * Spans from workflow code, on the tracer of the workflow interceptor module (../tracing-interceptors.ts):
 * Temporal's interceptors install a context manager inside the sandbox, and spans leave it through a sink
 * (never during replay). Activities scheduled inside a span become its children.
 */

/** Runs `fn` inside a span named `name`; records failures on the span and rethrows. */
export async function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return workflowTracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
