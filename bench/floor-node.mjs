/**
 * One node of a two-node floor (issue 17): the floor relay (src/bench/floor.ts), linked to a second
 * floor process by one WebSocket, so that a room may have members on both. The lower bound of what
 * a cross-node signal costs in Node with `ws`, to hold `sigctl serve --redis` against
 * (bench/multinode-cost.mjs --floor): no Redis, no envelope, no acknowledgement, no order or
 * delivery guarantee beyond TCP's.
 *
 *   node bench/floor-node.mjs [--tcp]                      # the first node: listens for the link
 *   node bench/floor-node.mjs [--tcp] --dial <link port>   # the second: dials the first
 *
 * Prints one line once it listens: {"ws":"ws://127.0.0.1:<port>/ws","link":<link port>}. Needs a
 * build (dist/). Loopback only; stops on SIGTERM / SIGINT.
 *
 * The link carries, in order on its one socket:
 * - text `+<room>` / `-<room>`: the sender's node gained its first member of the room / lost its last;
 * - binary: frames for rooms the receiver holds members of, every frame a node's clients sent in one
 *   event-loop turn in one message (as sigctl's links write a turn's messages at once), each entry
 *   `<u8 room length><room><u32 frame length><frame>`, delivered verbatim to the room's members.
 *
 * --tcp (on both nodes) carries the same messages on a plain TCP connection instead of a
 * WebSocket, each as `<u32 length><u8 kind: 0 text, 1 binary><payload>`: what a link costs
 * without WebSocket framing.
 */
import { Buffer } from 'node:buffer';
import { connect, createServer } from 'node:net';
import process from 'node:process';
import { setImmediate } from 'node:timers';
import { parseArgs } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { startFloor } from '../dist/bench/floor.js';

const { values: opts } = parseArgs({ options: { dial: { type: 'string' }, tcp: { type: 'boolean', default: false } } });
const MAX_PAYLOAD = 100 * 1024 * 1024;

/** Rooms the other node holds members of. */
const remoteRooms = new Set();
/** The link once open ({ send(payload, binary), close() }), and what waits for it (controls sent before it opened, a turn's frames). */
let link;
let controls = [];
let frames = [];
let flushScheduled = false;

function flush() {
  flushScheduled = false;
  if (frames.length === 0 || link === undefined) return;
  link.send(Buffer.concat(frames), true);
  frames = [];
}

function control(text) {
  // Frames queued before a control go first: the other side learns of a room before its frames.
  if (link === undefined) return void controls.push(text);
  flush();
  link.send(Buffer.from(text), false);
}

/** One message from the other node. */
function received(buf, binary) {
  if (!binary) {
    const text = buf.toString();
    if (text.startsWith('+')) remoteRooms.add(text.slice(1));
    else if (text.startsWith('-')) remoteRooms.delete(text.slice(1));
    return;
  }
  let at = 0;
  while (at < buf.length) {
    const roomEnd = at + 1 + buf[at];
    const room = buf.toString('latin1', at + 1, roomEnd);
    const frameEnd = roomEnd + 4 + buf.readUInt32BE(roomEnd);
    floor.deliver(room, buf.subarray(roomEnd + 4, frameEnd));
    at = frameEnd;
  }
}

function opened(l) {
  link = l;
  for (const c of controls) l.send(Buffer.from(c), false);
  controls = [];
}

function closed() {
  link = undefined;
  remoteRooms.clear();
}

/** A WebSocket as the link. */
function wsLink(ws) {
  ws.on('message', (data, isBinary) => received(Buffer.isBuffer(data) ? data : Buffer.concat(data), isBinary));
  ws.on('error', () => undefined);
  ws.on('close', closed);
  opened({ send: (payload, binary) => ws.send(payload, { binary }), close: () => ws.terminate() });
}

/** A TCP connection as the link: messages framed `<u32 length><u8 kind><payload>`. */
function tcpLink(socket) {
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    while (pending.length - at >= 5) {
      const length = pending.readUInt32BE(at);
      if (length > MAX_PAYLOAD) return void socket.destroy();
      if (pending.length - at - 5 < length) break;
      received(pending.subarray(at + 5, at + 5 + length), pending[at + 4] === 1);
      at += 5 + length;
    }
    pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
  });
  socket.on('error', () => undefined);
  socket.on('close', closed);
  opened({
    send(payload, binary) {
      const head = Buffer.allocUnsafe(5);
      head.writeUInt32BE(payload.length, 0);
      head[4] = binary ? 1 : 0;
      // One write: the head and the payload in one segment.
      socket.write(Buffer.concat([head, payload]));
    },
    close: () => socket.destroy(),
  });
}

const floor = await startFloor({
  remote: {
    joined: (room) => control(`+${room}`),
    left: (room) => control(`-${room}`),
    has: (room) => remoteRooms.has(room),
    forward(room, frame) {
      const head = Buffer.allocUnsafe(1 + room.length + 4);
      head[0] = room.length;
      head.write(room, 1, 'latin1');
      head.writeUInt32BE(frame.length, 1 + room.length);
      frames.push(head, frame);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    },
  },
});

let linkServer;
let linkPort;
if (opts.dial === undefined) {
  linkServer = opts.tcp ? createServer(tcpLink) : new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
  await new Promise((resolve, reject) => {
    linkServer.once('listening', resolve);
    linkServer.once('error', reject);
    if (opts.tcp) linkServer.listen(0, '127.0.0.1');
  });
  if (!opts.tcp) linkServer.on('connection', wsLink);
  linkPort = linkServer.address().port;
} else if (opts.tcp) {
  const socket = connect(Number(opts.dial), '127.0.0.1');
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  tcpLink(socket);
} else {
  // An all-zero mask, as sigctl's links (node-links.ts): no masking work on either side.
  const ws = new WebSocket(`ws://127.0.0.1:${opts.dial}/`, { perMessageDeflate: false, maxPayload: MAX_PAYLOAD, generateMask: (mask) => void mask.fill(0) });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  wsLink(ws);
}

process.stdout.write(`${JSON.stringify({ ws: floor.url, link: linkPort ?? null })}\n`);

const stop = () => {
  link?.close();
  linkServer?.close();
  void floor.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
