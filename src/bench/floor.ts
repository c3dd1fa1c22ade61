/**
 * The floor: the thinnest room relay on `ws` that the signaling load clients can run against, for
 * comparison with `sigctl serve` (issue 4). A map of room -> sockets; after a socket has joined,
 * every text frame it sends is forwarded verbatim to the other sockets of its room, unparsed.
 *
 * It speaks only as much of protocol v1 as the load clients need: `welcome` on connect, and the
 * first `join` answered with `joined`. Everything a real server does (validation, `from`, rate
 * limits, capacity, resume, heartbeats) is deliberately absent: this is a lower bound on cost.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { PROTOCOL_VERSION, ROOM_ID_PATTERN } from '../protocol/index.js';

export interface FloorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  path?: string;
  /**
   * Another floor process holding members of the same rooms (bench/floor-node.mjs links two, for
   * the lower bound of a cross-node signal): told when a room gains its first member here and
   * loses its last, and handed every frame of a room it holds members of.
   */
  remote?: FloorRemote;
}

/** The other side of a linked floor (see FloorOptions.remote). */
export interface FloorRemote {
  /** `room` has members here now (its first joined). */
  joined(room: string): void;
  /** `room` has no members here any more. */
  left(room: string): void;
  /** Whether the other side holds members of `room`. */
  has(room: string): boolean;
  /** A frame a member of `room` sent here, for the other side's members. */
  forward(room: string, frame: Buffer): void;
}

/** A running floor relay. */
export interface FloorServer {
  /** ws://host:port/path */
  url: string;
  port: number;
  /** Sends `frame` (from the other side of a linked floor) to every member of `room` here. */
  deliver(room: string, frame: Buffer): void;
  /** Closes every socket and the listener; idempotent. */
  close(): Promise<void>;
}

interface Member {
  id: string;
  room: string;
  name: string;
}

function text(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function joinOf(data: RawData): { room: string; name: string; capacity: number; id: unknown } | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(text(data));
  } catch {
    return undefined;
  }
  if (typeof msg !== 'object' || msg === null) return undefined;
  const m = msg as Record<string, unknown>;
  if (m.type !== 'join' || typeof m.room !== 'string' || !ROOM_ID_PATTERN.test(m.room)) return undefined;
  return {
    room: m.room,
    name: typeof m.name === 'string' ? m.name : '',
    capacity: typeof m.capacity === 'number' ? m.capacity : 2,
    id: m.id,
  };
}

/** Starts the floor relay; resolves once it listens. */
export async function startFloor(options: FloorOptions = {}): Promise<FloorServer> {
  const host = options.host ?? '127.0.0.1';
  const remote = options.remote;
  const path = options.path ?? '/ws';
  const rooms = new Map<string, Set<WebSocket>>();
  const members = new WeakMap<WebSocket, Member>();

  const wss = new WebSocketServer({ host, port: options.port ?? 0, path, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('error', () => undefined);

  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.send(JSON.stringify({ type: 'welcome', session: randomUUID(), protocol: PROTOCOL_VERSION, iceServers: [], heartbeatMs: 15_000 }));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const self = members.get(ws);
      if (self !== undefined) {
        // The hot path: forward the frame as received to everyone else in the room.
        const room = rooms.get(self.room);
        if (room !== undefined) for (const other of room) if (other !== ws) other.send(data, { binary: false });
        if (remote?.has(self.room) === true) remote.forward(self.room, Buffer.isBuffer(data) ? data : Buffer.from(text(data)));
        return;
      }
      const join = joinOf(data);
      if (join === undefined) return;
      let room = rooms.get(join.room);
      if (room === undefined) {
        room = new Set();
        rooms.set(join.room, room);
        remote?.joined(join.room);
      }
      const member: Member = { id: randomUUID(), room: join.room, name: join.name };
      const peers = [...room].flatMap((s) => {
        const m = members.get(s);
        return m === undefined ? [] : [{ id: m.id, name: m.name, meta: {} }];
      });
      room.add(ws);
      members.set(ws, member);
      ws.send(
        JSON.stringify({
          type: 'joined',
          ...(join.id === undefined ? {} : { re: join.id }),
          room: join.room,
          self: { id: member.id, name: member.name, meta: {} },
          peers,
          capacity: join.capacity,
          resumeToken: '',
        }),
      );
    });
    ws.on('close', () => {
      const m = members.get(ws);
      if (m === undefined) return;
      const room = rooms.get(m.room);
      room?.delete(ws);
      if (room?.size === 0) {
        rooms.delete(m.room);
        remote?.left(m.room);
      }
    });
  });

  const port = (wss.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `ws://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
    port,
    deliver(room, frame) {
      const members = rooms.get(room);
      if (members !== undefined) for (const ws of members) ws.send(frame, { binary: false });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        rooms.clear();
        wss.close(() => resolve());
      });
      return closing;
    },
  };
}
