/**
 * A Store whose backing service can be switched off: the real MemoryStore behind a health switch,
 * so server tests can see readiness and UNAVAILABLE without a Redis outage. While down, every
 * store operation rejects as a networked store's would.
 */
import { SigctlError } from '../../src/protocol/errors.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store, StoreHealth } from '../../src/store/store.js';

export class SwitchableStore implements Store {
  private readonly inner = new MemoryStore({ nodeId: 'switchable' });
  private readonly listeners = new Set<(h: StoreHealth) => void>();
  private up = true;
  readonly nodeId = 'switchable';
  readonly shared = false;

  get healthy(): boolean {
    return this.up;
  }

  setHealthy(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    for (const l of this.listeners) l(up ? 'up' : 'down');
  }

  onHealth(listener: (h: StoreHealth) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private guard<T>(op: () => Promise<T>): Promise<T> {
    return this.up ? op() : Promise.reject(new SigctlError('UNAVAILABLE', 'store down'));
  }

  join: Store['join'] = (...a) => this.guard(() => this.inner.join(...a));
  leave: Store['leave'] = (...a) => this.guard(() => this.inner.leave(...a));
  setMeta: Store['setMeta'] = (...a) => this.guard(() => this.inner.setMeta(...a));
  setNode: Store['setNode'] = (...a) => this.guard(() => this.inner.setNode(...a));
  members: Store['members'] = (...a) => this.guard(() => this.inner.members(...a));
  capacity: Store['capacity'] = (...a) => this.guard(() => this.inner.capacity(...a));
  listRooms: Store['listRooms'] = (...a) => this.guard(() => this.inner.listRooms(...a));
  roomDetail: Store['roomDetail'] = (...a) => this.guard(() => this.inner.roomDetail(...a));
  putResume: Store['putResume'] = (...a) => this.guard(() => this.inner.putResume(...a));
  takeResume: Store['takeResume'] = (...a) => this.guard(() => this.inner.takeResume(...a));
  enqueue: Store['enqueue'] = (...a) => this.guard(() => this.inner.enqueue(...a));
  drainQueue: Store['drainQueue'] = (...a) => this.guard(() => this.inner.drainQueue(...a));
  publish: Store['publish'] = (...a) => this.inner.publish(...a);
  subscribe: Store['subscribe'] = (...a) => this.inner.subscribe(...a);
  close = (): Promise<void> => this.inner.close();
}
