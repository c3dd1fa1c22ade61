import type { WeriftPatch } from './index.js';

/** TODO */
export const sctpPacketPatch: WeriftPatch = {
  name: 'sctp-packet',
  summary: 'TODO',
  apply() {
    throw new Error('not implemented');
  },
};
