/**
 * One node of a two-node floor (issue 17): the floor relay (src/bench/floor.ts), linked to a second
 * floor process by one WebSocket, so that a room may have members on both. The lower bound of what
 * a cross-node signal costs in Node with `ws`, to hold `sigctl serve --redis` against
 * (bench/multinode-cost.mjs --floor): no Redis, no envelope, no acknowledgement, no order or
 * delivery guarantee beyond TCP's.
 *
 *   node bench/floor-node.mjs                      # the first node: listens for the link
 *   node bench/floor-node.mjs --dial <link port>   # the second: dials the first
 *
 * Prints one line once it listens: {"ws":"ws://127.0.0.1:<port>/ws","link":<link port>}. Needs a
 * build (dist/). Loopback only; stops on SIGTERM / SIGINT.
 *
 * The link carries, in order on its one socket:
 * - text `+<room>` / `-<room>`: the sender's node gained its first member of the room / lost its last;
 * - binary: frames for rooms the receiver holds members of, every frame a node's clients sent in one
 *   event-loop turn in one message (as sigctl's links write a turn's messages at once), each entry
 *   `<u8 room length><room><u32 frame length><frame>`, delivered verbatim to the room's members.
 */
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { setImmediate } from 'node:timers';
import { parseArgs } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { startFloor } from '../dist/bench/floor.js';

const { values: opts } = parseArgs({ options: { dial: { type: 'string' } } });

/** Rooms the other node holds members of. */
const remoteRooms = new Set();
/** The link once open, and what waits for it (controls sent before it opened, a turn's frames). */
let link;
let controls = [];
let frames = [];
let flushScheduled = false;

function flush() {
  flushScheduled = false;
  if (frames.length === 0 || link === undefined) return;
  link.send(Buffer.concat(frames), { binary: true });
  frames = [];
}

function control(text) {
  // Frames queued before a control go first: the other side learns of a room before its frames.
  if (link === undefined) return void controls.push(text);
  flush();
  link.send(text);
}

function onLink(ws) {
  link = ws;
  for (const c of controls) ws.send(c);
  controls = [];
  ws.on('message', (data, isBinary) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    if (!isBinary) {
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
  });
  ws.on('error', () => undefined);
  ws.on('close', () => {
    link = undefined;
    remoteRooms.clear();
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
  linkServer = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 100 * 1024 * 1024 });
  await new Promise((resolve, reject) => {
    linkServer.once('listening', resolve);
    linkServer.once('error', reject);
  });
  linkServer.on('connection', onLink);
  linkPort = linkServer.address().port;
} else {
  // An all-zero mask, as sigctl's links (node-links.ts): no masking work on either side.
  const ws = new WebSocket(`ws://127.0.0.1:${opts.dial}/`, { perMessageDeflate: false, maxPayload: 100 * 1024 * 1024, generateMask: (mask) => void mask.fill(0) });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  onLink(ws);
}

process.stdout.write(`${JSON.stringify({ ws: floor.url, link: linkPort ?? null })}\n`);

const stop = () => {
  link?.terminate();
  linkServer?.close();
  void floor.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
