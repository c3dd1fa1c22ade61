/**
 * A TCP relay on 127.0.0.1 in front of a real server, which a test can shut: cut() drops every
 * relayed connection and refuses new ones until open(). One node behind a gate sees Redis come
 * back later than the others, as nodes on independent reconnect timers (or a network partition) do.
 * hold() keeps what the server sends (its replies and pushes) in the relay until release(): a slow
 * path from the server to this client, the connections staying up.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpGate {
  port: number;
  url: string;
  cut(): void;
  open(): void;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

/** Starts a gate relaying to `targetPort`, open. */
export async function startGate(targetPort: number, scheme = 'redis'): Promise<TcpGate> {
  const pairs = new Set<[Socket, Socket]>();
  let shut = false;
  let held = false;
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
    if (!held) upstream.pipe(client);
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
    hold() {
      held = true;
      for (const [client, upstream] of pairs) {
        upstream.unpipe(client);
        upstream.pause();
      }
    },
    release() {
      held = false;
      for (const [client, upstream] of pairs) upstream.pipe(client);
    },
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
