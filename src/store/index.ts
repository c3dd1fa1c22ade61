export type * from './store.js';
export { MemoryStore, type MemoryStoreOptions } from './memory.js';
