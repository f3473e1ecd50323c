import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { ConfigError } from '../errors';
import { createFileExclusive, isReadableByOthers } from '../credentials/files';

/*
 * The fleet key: a secret only Warden's own processes hold (workers and the HTTP server), never workflow
 * code, clients or people. It MACs what must provably come from Warden itself: decision tokens (a tool
 * call policy allowed or humans approved), service attestations of who started a run, and circuit-breaker
 * reports. Every process of one deployment loads the same file.
 */

/** MACs and checks messages under the fleet key. */
export interface FleetKey {
  /** Hex HMAC-SHA256 over the purpose and fields (a JSON array: unambiguous). */
  mac(purpose: string, fields: string[]): string;
  /** Constant-time check of a MAC made by {@link mac}. */
  verify(purpose: string, fields: string[], mac: string | undefined): boolean;
}

/** A fleet key over raw bytes. */
export function fleetKeyFrom(secret: Buffer): FleetKey {
  const mac = (purpose: string, fields: string[]) =>
    createHmac('sha256', secret)
      .update(JSON.stringify(['warden-fleet/v1', purpose, ...fields]))
      .digest('hex');
  return {
    mac,
    verify(purpose, fields, given) {
      if (typeof given !== 'string' || !/^[0-9a-f]{64}$/.test(given)) return false;
      return timingSafeEqual(Buffer.from(mac(purpose, fields), 'hex'), Buffer.from(given, 'hex'));
    },
  };
}

/**
 * Loads the fleet key file (64 hex characters), creating it (0600) when it does not exist yet — the first
 * process of a deployment makes it; share that file with every other worker and HTTP server.
 * @throws ConfigError when the file is malformed or readable by other users.
 */
export function loadFleetKey(file: string): FleetKey {
  if (!fs.existsSync(file)) createFileExclusive(file, `${randomBytes(32).toString('hex')}\n`);
  if (isReadableByOthers(file))
    throw new ConfigError([`WARDEN_FLEET_KEY_FILE: ${file} is readable by other users: chmod 600 it`]);
  const hex = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new ConfigError([`WARDEN_FLEET_KEY_FILE: ${file} must hold 32 random bytes as 64 lowercase hex characters`]);
  return fleetKeyFrom(Buffer.from(hex, 'hex'));
}
