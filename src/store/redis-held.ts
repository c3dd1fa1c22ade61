/**
 * The members this node holds (connected here, or reserved here for a resume), by room, with the
 * capacity each joined with: what a recovery restores after Redis lost its data.
 */
import type { MemberRecord } from './store.js';

/** A held member and the capacity it joined with. */
export interface HeldMember {
  readonly room: string;
  readonly record: MemberRecord;
  readonly capacity: number;
}

interface Slot {
  record: MemberRecord;
  capacity: number;
}

/** This node's members, by room (see the module comment). */
export class HeldMembers {
  private readonly rooms = new Map<string, Map<string, Slot>>();

  has(room: string, memberId: string): boolean {
    return this.rooms.get(room)?.has(memberId) === true;
  }

  get(room: string, memberId: string): HeldMember | undefined {
    const h = this.rooms.get(room)?.get(memberId);
    return h === undefined ? undefined : { room, ...h };
  }

  /** Records (or replaces) a held member. */
  hold(room: string, record: MemberRecord, capacity: number): void {
    let m = this.rooms.get(room);
    if (m === undefined) this.rooms.set(room, (m = new Map<string, Slot>()));
    m.set(record.id, { record, capacity });
  }

  /** Replaces a held member's record (after a metadata change); no-op when not held. */
  update(room: string, record: MemberRecord): void {
    const h = this.rooms.get(room)?.get(record.id);
    if (h !== undefined) h.record = record;
  }

  /** Forgets a member; returns whether it was held. */
  unhold(room: string, memberId: string): boolean {
    const m = this.rooms.get(room);
    if (m === undefined) return false;
    const had = m.delete(memberId);
    if (m.size === 0) this.rooms.delete(room);
    return had;
  }

  /** Every held member. */
  list(): HeldMember[] {
    return [...this.rooms].flatMap(([room, members]) => [...members.values()].map(({ record, capacity }) => ({ room, record, capacity })));
  }
}
