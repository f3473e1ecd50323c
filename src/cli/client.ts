import type { WardenClient } from '../client';
import type { WardenConfig } from '../config';
import { loadConfig } from '../config';

/**
 * Runs `fn` with a client connected for this one command, then closes it. The client (and with it the
 * Temporal SDK) is loaded here rather than at the top of the CLI, so commands that never talk to
 * Temporal (`--help`, `audit verify`, `secrets`) start without paying for it.
 */
export async function withClient<T>(
  fn: (client: WardenClient, config: WardenConfig) => Promise<T>,
  config: WardenConfig = loadConfig(),
): Promise<T> {
  const { WardenClient } = await import('../client');
  const client = await WardenClient.connect(config);
  try {
    return await fn(client, config);
  } finally {
    await client.close();
  }
}
