import type { WeriftPatch } from './index.js';

/** TODO */
export const sackFrequencyPatch: WeriftPatch = {
  name: 'sack-frequency',
  summary: 'TODO',
  apply() {
    throw new Error('not implemented');
  },
};
