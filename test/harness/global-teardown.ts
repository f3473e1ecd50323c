import fs from 'node:fs';
import type { DevServer } from '../../src/runtime/dev-server';
import { HARNESS_ENV } from './env';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __wardenTestServer?: DevServer }).__wardenTestServer;
  await server?.stop();
  const dir = process.env[HARNESS_ENV.dir];
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
