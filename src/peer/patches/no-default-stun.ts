/**
 * Patch "no-default-stun": no STUN query to stun.l.google.com unless a STUN server was configured.
 *
 * Wraps `Connection.prototype.getCandidatePromises` (werift 0.24.4, ice/src/ice.ts). The
 * `Connection` constructor sets `this.stunServer = validateAddress(stunServer) ?? ["stun.l.google.com",
 * 19302]`, so even `iceServers: []` makes every gathering resolve that public host and send it a
 * Binding request per host address, and `gatherCandidates()` waits for the answers for up to 5 s
 * (`getCandidatePromises(address, 5)`). Offline, or with a slow resolver, ICE gathering (and so the
 * non-trickle offer/answer) took exactly 5 s: measured as intermittent 5 s connections.
 *
 * After the patch, gathering queries a STUN server only when one was configured (the
 * `stunServer` option, i.e. a `stun:` URL in iceServers); otherwise it gathers host (and TURN)
 * candidates only, which is what an empty iceServers list means in the WebRTC API.
 */
import { Connection } from 'werift';
import type { WeriftPatch } from './types.js';

interface ConnectionLike {
  options: { stunServer?: unknown };
  stunServer: unknown;
}

/** See the module comment. */
export const noDefaultStunPatch: WeriftPatch = {
  name: 'no-default-stun',
  summary: 'ICE gathering does not query stun.l.google.com when no STUN server was configured',
  apply() {
    const proto = Connection.prototype as unknown as { getCandidatePromises: (this: ConnectionLike, ...args: unknown[]) => unknown };
    const original = proto.getCandidatePromises;
    proto.getCandidatePromises = function (this: ConnectionLike, ...args: unknown[]): unknown {
      if (this.options.stunServer === undefined) this.stunServer = undefined;
      return original.apply(this, args);
    };
  },
};
