/**
 * Facts about rooms and their members, for outside effects (webhooks, the admin API). Each fact is
 * emitted exactly once across a cluster: by the node whose store operation made it true (the join,
 * leave, meta, resume, grace-expiry or reap). `room.started`, `room.ready` and `room.finished` come
 * from the store's atomic join/leave results (member counts before and after), never from a node's
 * local counts. Emission is synchronous and never throws into the hub (see `safeSink`).
 */
import type { Logger } from 'pino';
import type { MemberRecord } from '../store/store.js';

/** A member as an event describes it. */
export type MemberFacts = { id: string; name?: string | undefined; meta?: Readonly<Record<string, unknown>> | undefined };

/** One fact about a room (`at` is the hub clock's unix ms). */
export type RoomEvent =
  | { type: 'room.started'; room: string; at: number }
  | { type: 'room.ready'; room: string; at: number } // member count went 1 -> 2
  | { type: 'member.joined'; room: string; at: number; member: MemberFacts; members: number }
  | { type: 'member.updated'; room: string; at: number; member: MemberFacts; members: number }
  | { type: 'member.resumed'; room: string; at: number; member: MemberFacts; members: number }
  | { type: 'member.left'; room: string; at: number; member: MemberFacts; members: number; reason: 'leave' | 'disconnect' | 'timeout' | 'kicked' }
  | { type: 'room.finished'; room: string; at: number }; // last member gone

/** Receives room events; called synchronously by the hub. */
export type RoomEventSink = (e: RoomEvent) => void;

/** The facts of a member record. */
export function memberFacts(r: MemberRecord): MemberFacts {
  return { id: r.id, name: r.name, meta: r.meta };
}

/** `sink` wrapped so that a throwing sink is logged, never thrown into the hub; a no-op without one. */
export function safeSink(sink: RoomEventSink | undefined, logger: Logger): RoomEventSink {
  if (sink === undefined) return () => undefined;
  return (e) => {
    try {
      sink(e);
    } catch (err) {
      logger.error({ err, event: 'room-event-sink-error', type: e.type, room: e.room }, 'the room event sink threw; the event is dropped');
    }
  };
}

/** One sink that hands each event to every sink in order (each already safe: see `safeSink`). */
export function fanOut(sinks: readonly RoomEventSink[]): RoomEventSink {
  return (e) => {
    for (const sink of sinks) sink(e);
  };
}
