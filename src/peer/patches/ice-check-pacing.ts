/**
 * Patch "ice-check-pacing": ICE reports `connected` when its check list completes, not at the
 * next 20 ms pacing tick.
 *
 * Replaces `Connection.prototype.connect` (werift 0.24.4, ice/src/ice.ts). The original starts
 * one connectivity check per iteration of a loop that then sleeps a fixed 20 ms
 * (`await timers.setTimeout(20)`, the pacing interval Ta of RFC 8445 6.1.4.2) and leaves the loop
 * only at the next iteration after the check list is done. On loopback or a LAN the first check
 * and its nomination (werift nominates aggressively) complete well within one interval, so every
 * connection waits out the rest of it for nothing before ICE is `connected` and DTLS can start:
 * on both ends, since the answerer runs the same loop (measured in docs/werift-patches.md,
 * "ice-check-pacing", with its command).
 *
 * After the patch, the sleep ends early when a check completes AND the check list is done
 * (nominated or failed); otherwise it lasts its full 20 ms, so new checks are paced exactly as
 * before. Everything else is the original method unchanged (the ICE-lite branch included).
 */
import { Connection } from 'werift';
import type { WeriftPatch } from './types.js';

/** RFC 8445 Ta as werift uses it, ms. */
export const ICE_PACING_MS = 20;
// werift 0.24.4 ice/src/ice.ts: `const ICE_COMPLETED = 1; const ICE_FAILED = 2;`
const ICE_COMPLETED = 1;
const ICE_FAILED = 2;

interface ConnectionLike {
  state: string;
  localCandidatesStart: boolean;
  localCandidatesEnd: boolean;
  remoteUsername?: string;
  remotePassword?: string;
  remoteCandidates: unknown[];
  iceLite: boolean;
  nominated?: unknown;
  checkListDone: boolean;
  checkList: { handle?: { resolve?: () => void } }[];
  checkListState: { get(): Promise<number> };
  earlyChecks: unknown[][];
  earlyChecksDone: boolean;
  pairRemoteCandidate(c: unknown): void;
  sortCheckList(): void;
  unfreezeInitial(): void;
  checkIncoming(...args: unknown[]): void;
  schedulingChecks(): boolean;
  checkComplete: (this: ConnectionLike, pair: unknown) => void;
  queryConsent(): void;
  setState(state: string): void;
}

/** Per connection: who to wake when one of its checks completes. */
const wakers = new WeakMap<object, () => void>();

/** Waits up to `ms`, or less if a check completes and the check list is then done. */
function pace(conn: ConnectionLike, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      wakers.delete(conn);
      resolve();
    }
    wakers.set(conn, () => {
      if (conn.checkListDone || conn.state === 'closed') done();
    });
  });
}

/** See the module comment. */
export const iceCheckPacingPatch: WeriftPatch = {
  name: 'ice-check-pacing',
  summary: 'ICE is connected when its check list completes, not at the next fixed 20 ms tick (~18 ms less per connection, on both ends)',
  apply() {
    const proto = Connection.prototype as unknown as ConnectionLike & { connect(this: ConnectionLike): Promise<void> };
    const checkComplete = proto.checkComplete;
    proto.checkComplete = function patchedCheckComplete(this: ConnectionLike, pair: unknown): void {
      checkComplete.call(this, pair);
      wakers.get(this)?.();
    };
    proto.connect = async function connect(this: ConnectionLike): Promise<void> {
      if (!this.localCandidatesEnd) {
        if (!this.localCandidatesStart) throw new Error('Local candidates gathering was not performed');
      }
      if (!this.remoteUsername || !this.remotePassword) throw new Error('Remote username or password is missing');
      for (const c of this.remoteCandidates) this.pairRemoteCandidate(c);
      this.sortCheckList();
      if (!this.iceLite) this.unfreezeInitial();
      for (const earlyCheck of this.earlyChecks) this.checkIncoming(...earlyCheck);
      this.earlyChecks = [];
      this.earlyChecksDone = true;
      if (this.iceLite) {
        if (this.nominated === undefined) {
          let res = ICE_FAILED;
          while (!this.checkListDone && this.state !== 'closed') {
            res = await this.checkListState.get();
            if (res === ICE_COMPLETED) break;
          }
          if (res !== ICE_COMPLETED && this.nominated === undefined) throw new Error('ICE negotiation failed');
        }
        this.setState('connected');
        return;
      }
      for (;;) {
        if (this.state === 'closed') break;
        if (!this.schedulingChecks()) break;
        await pace(this, ICE_PACING_MS); // the patch: was `await timers.setTimeout(20)`
      }
      let res = ICE_FAILED;
      while (this.checkList.length > 0 && res === ICE_FAILED) res = await this.checkListState.get();
      for (const check of this.checkList) check.handle?.resolve?.();
      if (res !== ICE_COMPLETED) throw new Error('ICE negotiation failed');
      this.queryConsent();
      this.setState('connected');
    };
  },
};
