import { once } from 'node:events';

/**
 * Writes values as NDJSON (one JSON document per line) to a stream, honouring backpressure.
 * Resolves with the number of lines written; does not end the stream.
 */
export async function writeNdjson(
  values: AsyncIterable<unknown> | Iterable<unknown>,
  out: NodeJS.WritableStream,
): Promise<number> {
  let n = 0;
  for await (const v of values) {
    if (!out.write(`${JSON.stringify(v)}\n`)) await once(out, 'drain');
    n++;
  }
  return n;
}
