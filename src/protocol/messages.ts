/**
 * Wire protocol v1: every frame either end may send, defined once as zod schemas with inferred
 * types. The server validates every inbound client frame with these; the client validates every
 * inbound server frame. Nothing from the wire is trusted by a cast. See docs/protocol.md.
 */
import { z } from 'zod';
import { MAX_META_BYTES, MAX_META_DEPTH, measureJson } from './limits.js';

/** Room ids: URL-safe, colon allowed (UUIDs and `team:42` fit), 1-128 characters. */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Correlation id a client may attach to any message; replies carry it back as `re`. */
export const MessageId = z.union([z.string().max(128), z.number().finite()]);
export type MessageId = z.infer<typeof MessageId>;

/** Member metadata: a flat or nested JSON object (e.g. `{"audio":false,"video":true}`). */
export const Meta = z.record(z.string(), z.unknown());
export type Meta = z.infer<typeof Meta>;

/**
 * Meta as a client may send it (in `join` and `meta`): at most MAX_META_DEPTH levels and
 * MAX_META_BYTES bytes of JSON. It is sent to every member of the room in `joined`, `peer-joined`
 * and `peer-updated`, so it is bounded where it comes in. (Server frames are read with the
 * unbounded Meta, so a client still understands a server that predates the bound.)
 */
export const ClientMeta = Meta.check((ctx) => {
  const { tooDeep, bytes } = measureJson(ctx.value, MAX_META_DEPTH);
  if (tooDeep) ctx.issues.push({ code: 'custom', input: ctx.value, message: `nested deeper than ${MAX_META_DEPTH} levels (the limit for meta)` });
  else if (bytes > MAX_META_BYTES) ctx.issues.push({ code: 'custom', input: ctx.value, message: `${bytes} bytes of JSON exceed the limit of ${MAX_META_BYTES} for meta` });
});

/** A JSON value that is present (signal payloads may be any JSON, but not absent). */
const JsonPresent = z.unknown().refine((v) => v !== undefined, { message: 'required' });

export const RoomId = z.string().regex(ROOM_ID_PATTERN, 'must match ^[A-Za-z0-9._:-]{1,128}$');

export const PeerId = z.string().min(1).max(64);

// ---- client -> server ----------------------------------------------------------------------------

export const JoinMessage = z.object({
  type: z.literal('join'),
  id: MessageId.optional(),
  room: z.string(),
  /** 1-64 characters, counted as code points (so at most 256 bytes of UTF-8). */
  name: z.string().min(1).max(64).optional(),
  meta: ClientMeta.optional(),
  /** Requested capacity when this join creates the room; clamped by the server's rooms.maxCapacity. */
  capacity: z.number().int().min(1).optional(),
  /** The resumeToken from a previous `joined`, to get the same member id back within the grace period. */
  resume: z.string().min(1).max(512).optional(),
});

export const SignalMessage = z.object({
  type: z.literal('signal'),
  id: MessageId.optional(),
  to: PeerId.optional(),
  data: JsonPresent,
});

export const MetaMessage = z.object({
  type: z.literal('meta'),
  id: MessageId.optional(),
  meta: ClientMeta,
});

export const LeaveMessage = z.object({
  type: z.literal('leave'),
  id: MessageId.optional(),
});

export const PingMessage = z.object({
  type: z.literal('ping'),
  id: MessageId.optional(),
  ts: z.number().finite().optional(),
});

export const ClientMessage = z.discriminatedUnion('type', [JoinMessage, SignalMessage, MetaMessage, LeaveMessage, PingMessage]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type JoinMessage = z.infer<typeof JoinMessage>;
export type SignalMessage = z.infer<typeof SignalMessage>;
export type MetaMessage = z.infer<typeof MetaMessage>;
export type LeaveMessage = z.infer<typeof LeaveMessage>;
export type PingMessage = z.infer<typeof PingMessage>;

/** The client message types known to protocol v1. */
export const CLIENT_MESSAGE_TYPES = ['join', 'signal', 'meta', 'leave', 'ping'] as const;
export type ClientMessageType = (typeof CLIENT_MESSAGE_TYPES)[number];

// ---- server -> client ----------------------------------------------------------------------------

/** An RTCIceServer as browsers and werift accept it. */
export const IceServer = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof IceServer>;

export const PeerInfo = z.object({
  id: PeerId,
  name: z.string(),
  meta: Meta,
});
export type PeerInfo = z.infer<typeof PeerInfo>;

export const WelcomeMessage = z.object({
  type: z.literal('welcome'),
  session: z.string(),
  protocol: z.number().int(),
  iceServers: z.array(IceServer),
  heartbeatMs: z.number().int().positive(),
});

export const JoinedMessage = z.object({
  type: z.literal('joined'),
  re: MessageId.optional(),
  room: z.string(),
  self: PeerInfo,
  peers: z.array(PeerInfo),
  capacity: z.number().int().positive(),
  resumeToken: z.string(),
  /** True when this join resumed an earlier membership (same id, queued signals follow). */
  resumed: z.boolean().optional(),
});

export const PeerLeftReason = z.enum(['leave', 'disconnect', 'timeout', 'kicked']);
export type PeerLeftReason = z.infer<typeof PeerLeftReason>;

export const PeerJoinedMessage = z.object({ type: z.literal('peer-joined'), room: z.string(), peer: PeerInfo });
export const PeerLeftMessage = z.object({ type: z.literal('peer-left'), room: z.string(), peer: PeerId, reason: PeerLeftReason });
export const PeerUpdatedMessage = z.object({ type: z.literal('peer-updated'), room: z.string(), peer: PeerInfo, re: MessageId.optional() });

export const ReadyMessage = z.object({
  type: z.literal('ready'),
  room: z.string(),
  offerer: PeerId,
  peers: z.tuple([PeerId, PeerId]),
});

export const ServerSignalMessage = z.object({
  type: z.literal('signal'),
  from: PeerId,
  data: JsonPresent,
});

export const PongMessage = z.object({ type: z.literal('pong'), re: MessageId.optional(), ts: z.number().finite().optional() });

export const LeftMessage = z.object({ type: z.literal('left'), re: MessageId.optional(), room: z.string() });

export const ErrorMessage = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  re: MessageId.optional(),
});

export const ByeMessage = z.object({
  type: z.literal('bye'),
  reason: z.enum(['shutdown']),
  reconnectMs: z.number().int().nonnegative(),
});

export const ServerMessage = z.discriminatedUnion('type', [
  WelcomeMessage,
  JoinedMessage,
  PeerJoinedMessage,
  PeerLeftMessage,
  PeerUpdatedMessage,
  ReadyMessage,
  ServerSignalMessage,
  PongMessage,
  LeftMessage,
  ErrorMessage,
  ByeMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type WelcomeMessage = z.infer<typeof WelcomeMessage>;
export type JoinedMessage = z.infer<typeof JoinedMessage>;
export type PeerJoinedMessage = z.infer<typeof PeerJoinedMessage>;
export type PeerLeftMessage = z.infer<typeof PeerLeftMessage>;
export type PeerUpdatedMessage = z.infer<typeof PeerUpdatedMessage>;
export type ReadyMessage = z.infer<typeof ReadyMessage>;
export type ServerSignalMessage = z.infer<typeof ServerSignalMessage>;
export type PongMessage = z.infer<typeof PongMessage>;
export type LeftMessage = z.infer<typeof LeftMessage>;
export type ErrorMessage = z.infer<typeof ErrorMessage>;
export type ByeMessage = z.infer<typeof ByeMessage>;

// ---- signal payloads (the W3C perfect-negotiation shape; used by `sigctl peer`) -------------------

export const SessionDescriptionPayload = z.object({
  description: z.object({ type: z.enum(['offer', 'answer', 'pranswer', 'rollback']), sdp: z.string().max(256 * 1024) }),
});

export const CandidatePayload = z.object({
  candidate: z
    .object({
      candidate: z.string().max(1024),
      sdpMid: z.string().nullable().optional(),
      sdpMLineIndex: z.number().int().nonnegative().nullable().optional(),
      usernameFragment: z.string().nullable().optional(),
    })
    .nullable(),
});

export const SignalPayload = z.union([SessionDescriptionPayload, CandidatePayload]);
export type SignalPayload = z.infer<typeof SignalPayload>;

// ---- HTTP error bodies ---------------------------------------------------------------------------

/** The JSON body of a refused HTTP request or WebSocket upgrade (401, 403, 429, 503, ...). */
export const HttpErrorBody = z.object({
  error: z.object({ code: z.string().max(64), message: z.string().max(2048) }),
});
export type HttpErrorBody = z.infer<typeof HttpErrorBody>;
