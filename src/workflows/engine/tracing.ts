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

/**
 * {@link inSpan} for lean runs (patches.ts LEAN_STEPS_PATCH): the span ends in one `then` on `fn`'s own
 * promise instead of two async wrappers around it. A synchronous throw from `fn` is a rejection, as it would
 * be from an async function.
 */
export function inSpanLean<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return workflowTracer().startActiveSpan(name, { attributes }, (span) => {
    const failed = (err: unknown): never => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      span.end();
      throw err;
    };
    let running: Promise<T>;
    try {
      running = fn();
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what was thrown, unchanged
      running = Promise.reject(err);
    }
    return running.then((value) => {
      span.end();
      return value;
    }, failed);
  });
}
