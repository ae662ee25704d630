// A port for a process a test starts later (a registry, a PostgreSQL cluster, `serve --port`).
// listen(0) hands out ports from the kernel's ephemeral range, the same range every outgoing
// connection draws from: between choosing such a port and the child binding it, a client socket
// of any test may take it (seen in CI: serve failed with EADDRINUSE). So choose below that range,
// at a random offset per call, and check it binds now.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(low);
    if (Number.isInteger(n) && n > 12_000) return n;
  } catch {
    // not Linux: fall back to Linux's default start of the range
  }
  return 32_768;
}

const LOW = 10_000;
const HIGH = ephemeralLow();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A loopback port that is free now and outside the kernel's ephemeral range. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${LOW}-${HIGH - 1} after 200 tries`);
}
