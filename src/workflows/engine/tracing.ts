import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';

/*
 * Spans from workflow code: Temporal's OpenTelemetry workflow interceptor registers a tracer provider and
 * a context manager inside the sandbox and exports spans through a sink (never during replay). Without
 * it, this is a no-op. Activities scheduled inside a span become its children.
 */

/** Runs `fn` inside a span named `name`; records failures on the span and rethrows. */
export async function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return trace.getTracer('warden').startActiveSpan(name, { attributes }, async (span) => {
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
