export * from './version.js';
export * from './errors.js';
export * from './close-codes.js';
export * from './messages.js';
export * from './limits.js';
