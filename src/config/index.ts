export * from './schema.js';
export * from './load.js';
export * from './redact.js';
export * from './paths.js';
