/**
 * A real signaling server for peer/client tests (port 0, built from the public startServer
 * contract), and a TCP proxy in front of it whose connections a test can cut: from the client's
 * side that is the server dropping the socket, from the server's side an abnormal disconnect.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { createAuthenticator } from '../../src/auth/index.js';
import { startServer, type SignalingServer } from '../../src/server/index.js';

/** Starts a server on 127.0.0.1 port 0 with config `overrides` (auth.jwt enables the real JWT authenticator). */
export function startPeerTestServer(overrides: ConfigInput = {}): Promise<SignalingServer> {
  const config = ConfigSchema.parse({ host: '127.0.0.1', port: 0, ...overrides });
  return startServer(config, { authenticator: createAuthenticator(config.auth) });
}

export interface DropProxy {
  /** ws:// URL through the proxy. */
  url: string;
  /** Destroys every proxied connection (both directions) at once. */
  dropAll(): void;
  /** Stops forwarding on every current connection but keeps it open: a half-open, silent link. */
  stallAll(): void;
  /** While paused, new connections are refused (the server looks down). */
  setRefusing(refusing: boolean): void;
  close(): Promise<void>;
}

/** A TCP proxy to `target` (a ws:// URL); keeps the path. */
export async function startDropProxy(target: string): Promise<DropProxy> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(t.port), t.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const cleanup = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', cleanup).on('close', cleanup);
    upstream.on('error', cleanup).on('close', cleanup);
    client.pipe(upstream);
    upstream.pipe(client);
    pairs.add([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `ws://127.0.0.1:${port}${t.pathname}`,
    dropAll: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    stallAll: () => {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      pairs.clear();
    },
    setRefusing: (r) => {
      refusing = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
