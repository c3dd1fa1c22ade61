/**
 * A TCP relay on 127.0.0.1 in front of a real server, which a test can shut: cut() drops every
 * relayed connection and refuses new ones until open(). One node behind a gate sees Redis come
 * back later than the others, as nodes on independent reconnect timers (or a network partition) do.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpGate {
  port: number;
  url: string;
  cut(): void;
  open(): void;
  close(): Promise<void>;
}

/** Starts a gate relaying to `targetPort`, open. */
export async function startGate(targetPort: number, scheme = 'redis'): Promise<TcpGate> {
  const pairs = new Set<[Socket, Socket]>();
  let shut = false;
  const server = createServer((client) => {
    if (shut) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const cut = (): void => {
    shut = true;
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    cut,
    open() {
      shut = false;
    },
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
