/**
 * The sigctl library surface: the protocol v1 types and schemas, the signaling client, and the
 * werift peer (sessions, data channels, file transfer). Importing this module loads werift (the
 * peer half); the CLI's `serve` path never imports it.
 */
export * from './protocol/index.js';
export * from './client/index.js';
export * from './peer/index.js';
