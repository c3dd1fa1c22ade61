/**
 * The destinations of a Spring-style STOMP signaling app (simple broker, 1:1 calls), mapped onto
 * protocol v1, so a STOMP member is an ordinary member of the hub's rooms (docs/compat.md):
 *
 *   SEND /app/rooms/{room}/join    {"roomId","displayName"?}  -> v1 join (name = displayName)
 *   SEND /app/rooms/{room}/signal  any JSON                    -> v1 signal to the room (data = the body)
 *   SEND /app/rooms/{room}/leave                               -> v1 leave
 *
 *   /topic/rooms/{room}/members  the member list [{"sid","displayName"}], re-sent on every change
 *   /topic/rooms/{room}/signal   signals from the others (the sender's body as it was sent; its id
 *                                in the `sid` header), and READY / LEAVE made by the server
 *   /user/queue/system           errors: {"type":CODE,"code","message"} (e.g. ROOM_FULL)
 *   /user/queue/me               {"sid"}: this session's member id, to break offer glare
 *
 * `RoomView` follows the v1 frames the hub sends this member and says what to publish where.
 */
import { ROOM_ID_PATTERN, ServerMessage, type PeerInfo } from '../../protocol/messages.js';
import type { Frame } from '../frames.js';
import { isJson, signalRequest, signalSpan, spanData } from './signal-frame.js';

/** One message for the session to publish to its subscribers of `destination`. */
export interface Publication {
  destination: string;
  body: string;
  /** Extra MESSAGE headers (e.g. the signal's sender as `sid`). */
  headers?: ReadonlyArray<readonly [string, string]>;
}

export const SYSTEM_QUEUE = '/user/queue/system';
export const ME_QUEUE = '/user/queue/me';

export const membersTopic = (room: string): string => `/topic/rooms/${room}/members`;
export const signalTopic = (room: string): string => `/topic/rooms/${room}/signal`;

const APP_DESTINATION = /^\/(?:app|topic)\/rooms\/([^/]+)\/(join|signal|leave)$/;

/** What a SEND frame asks for, as the v1 frame to dispatch, or the reason it cannot. */
export type SendAction = { ok: true; v1: string; room: string; action: 'join' | 'signal' | 'leave' } | { ok: false; code: 'BAD_MESSAGE' | 'BAD_ROOM'; message: string };

/**
 * Translates a SEND to `destination` with `body` into a v1 client frame. A signal's body goes on
 * as the v1 `data` byte for byte when it is JSON (else as a JSON string of its text).
 */
export function sendToV1(destination: string, body: string): SendAction {
  const m = APP_DESTINATION.exec(destination);
  if (m === null) return { ok: false, code: 'BAD_MESSAGE', message: `no such destination ${JSON.stringify(destination.slice(0, 128))}: SEND to /app/rooms/{roomId}/join, /signal or /leave` };
  const room = m[1]!;
  const action = m[2] as 'join' | 'signal' | 'leave';
  if (!ROOM_ID_PATTERN.test(room)) return { ok: false, code: 'BAD_ROOM', message: `room ${JSON.stringify(room.slice(0, 64))} must match ^[A-Za-z0-9._:-]{1,128}$` };
  if (action === 'signal') {
    if (body.trim() === '') return { ok: false, code: 'BAD_MESSAGE', message: 'a signal needs a body' };
    return { ok: true, room, action, v1: signalRequest(isJson(body) ? body : JSON.stringify(body)) };
  }
  if (action === 'leave') return { ok: true, room, action, v1: '{"type":"leave"}' };
  let name: unknown;
  if (body.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return { ok: false, code: 'BAD_MESSAGE', message: 'the join body must be JSON {"roomId","displayName"?}' };
    }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) name = (parsed as Record<string, unknown>).displayName;
  }
  return { ok: true, room, action, v1: JSON.stringify(typeof name === 'string' && name !== '' ? { type: 'join', room, name } : { type: 'join', room }) };
}

/** The room this member is in, as its v1 frames tell it, and what each frame becomes in STOMP. */
export class RoomView {
  room: string | undefined;
  /** This member's id in the room (its `sid`). */
  self: string | undefined;
  private readonly members = new Map<string, string>();

  constructor(private readonly session: string) {}

  /** The sid to tell the client before it has joined. */
  get sid(): string {
    return this.self ?? this.session;
  }

  /** The member list as published on the members topic. */
  list(): string {
    return JSON.stringify([...this.members].map(([sid, displayName]) => ({ sid, displayName })));
  }

  /** The publications a v1 frame from the hub turns into (none for frames STOMP has no use for). */
  translate(frame: Frame): Publication[] {
    const signal = signalSpan(frame);
    if (signal !== undefined) {
      if (this.room === undefined) return [];
      return [{ destination: signalTopic(this.room), body: spanData(signal), headers: [['sid', signal.from]] }];
    }
    const parsed = ServerMessage.safeParse(JSON.parse(typeof frame === 'string' ? frame : frame.toString('utf8')));
    if (!parsed.success) return [];
    const msg = parsed.data;
    switch (msg.type) {
      case 'joined':
        this.room = msg.room;
        this.self = msg.self.id;
        this.members.clear();
        for (const p of [...msg.peers, msg.self]) this.members.set(p.id, nameOf(p));
        return [
          { destination: ME_QUEUE, body: JSON.stringify({ sid: msg.self.id }) },
          { destination: membersTopic(msg.room), body: this.list() },
        ];
      case 'peer-joined':
      case 'peer-updated':
        if (msg.room !== this.room) return [];
        this.members.set(msg.peer.id, nameOf(msg.peer));
        return [{ destination: membersTopic(msg.room), body: this.list() }];
      case 'peer-left':
        if (msg.room !== this.room || !this.members.delete(msg.peer)) return [];
        return [
          { destination: signalTopic(msg.room), body: JSON.stringify({ type: 'LEAVE', sid: msg.peer, reason: msg.reason }), headers: [['sid', msg.peer]] },
          { destination: membersTopic(msg.room), body: this.list() },
        ];
      case 'ready':
        return [{ destination: signalTopic(msg.room), body: JSON.stringify({ type: 'READY', offerer: msg.offerer, peers: msg.peers }) }];
      case 'left':
        this.room = undefined;
        this.members.clear();
        return [];
      case 'error':
        return [{ destination: SYSTEM_QUEUE, body: JSON.stringify({ type: msg.code, code: msg.code, message: msg.message }) }];
      case 'bye':
        return [{ destination: SYSTEM_QUEUE, body: JSON.stringify({ type: 'BYE', reason: msg.reason, reconnectMs: msg.reconnectMs }) }];
      default:
        // welcome, pong: the STOMP session has its own CONNECTED and heart-beats.
        return [];
    }
  }
}

function nameOf(p: PeerInfo): string {
  return p.name;
}
