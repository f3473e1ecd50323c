import net from 'node:net';
import fs from 'node:fs';

/** The kernel's ephemeral range (outgoing connections and `listen(0)` take their ports from it). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    // not Linux: the IANA dynamic range
  }
  return [49152, 65535];
}

function listenable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/**
 * A free port *outside* the ephemeral range, for a port a process under test will listen on later. A port
 * from `listen(0)` is free only until the next outgoing connection or `listen(0)` anywhere on the machine
 * takes it — `warden dev` opens many (its Temporal server picks random ports for its own services) before
 * its HTTP server binds, and one such collision failed the kill -9 test with "port in use".
 */
const handedOut = new Set<number>();

export async function reservedRangePort(host = '127.0.0.1'): Promise<number> {
  const [lo] = ephemeralRange();
  const floor = 10_000;
  const top = Math.max(floor + 1_000, Math.min(lo, 32_768));
  for (let i = 0; i < 200; i++) {
    const port = floor + Math.floor(Math.random() * (top - floor));
    if (handedOut.has(port) || !(await listenable(port, host))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${floor} and ${top} on ${host}`);
}
