import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { WardenConfig } from '../config';
import { temporalAddress } from '../config';
import { UserError } from '../errors';
import { dataConverterOption } from '../codec/codec-keys';

function tlsConfig(config: WardenConfig): TLSConfig | boolean {
  const t = config.temporal;
  if (!t.tls) return false;
  const tls: TLSConfig = {};
  if (t.tlsServerName) tls.serverNameOverride = t.tlsServerName;
  if (t.tlsCaPath) tls.serverRootCACertificate = fs.readFileSync(t.tlsCaPath);
  if (t.tlsCertPath && t.tlsKeyPath) {
    tls.clientCertPair = { crt: fs.readFileSync(t.tlsCertPath), key: fs.readFileSync(t.tlsKeyPath) };
  }
  return tls;
}

/** Connection options shared by the client and the worker (address, TLS/mTLS, Temporal Cloud API key). */
export function connectionOptions(config: WardenConfig): {
  address: string;
  tls: TLSConfig | boolean;
  apiKey?: string;
} {
  return {
    address: temporalAddress(config),
    tls: tlsConfig(config),
    ...(config.temporal.apiKey ? { apiKey: config.temporal.apiKey } : {}),
  };
}

/** The message every entry point prints when Temporal cannot be reached. */
export function unreachableMessage(config: WardenConfig): string {
  const address = temporalAddress(config);
  return config.temporal.address
    ? `cannot reach Temporal at ${address} (TEMPORAL_ADDRESS) — check the address, TLS settings and that the cluster is up`
    : `cannot reach Temporal at ${address} — run \`warden dev\` (or \`npm start\`) or set TEMPORAL_ADDRESS`;
}

/**
 * Connects a Temporal client; with a codec key configured, its payloads are encrypted (WARDEN_CODEC_KEYS).
 * @throws UserError saying what to do when the server cannot be reached within `connectTimeoutMs`.
 */
export async function connectClient(config: WardenConfig, connectTimeoutMs = 15_000): Promise<Client> {
  const codec = dataConverterOption(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(config), connectTimeout: connectTimeoutMs });
  } catch (err) {
    throw new UserError(`${unreachableMessage(config)} (${(err as Error).message.split('\n')[0]})`);
  }
  return new Client({ connection, namespace: config.temporal.namespace, ...codec });
}

/** Connects the worker's native (Rust core) connection. */
export async function connectWorker(config: WardenConfig): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(connectionOptions(config));
  } catch (err) {
    throw new UserError(`${unreachableMessage(config)} (${(err as Error).message.split('\n')[0]})`);
  }
}
