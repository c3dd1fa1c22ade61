import type { WeriftPatch } from './index.js';

/** TODO */
export const fastPathPatch: WeriftPatch = {
  name: 'fast-path',
  summary: 'TODO',
  apply() {
    throw new Error('not implemented');
  },
};
