/**
 * The `ws` WebSocket class, loaded with require(). ws is CommonJS; `import WebSocket from 'ws'`
 * goes through its ESM wrapper (wrapper.mjs), which makes Node lex five of its CommonJS modules
 * for named exports: ~10 ms more of a fresh `sigctl peer`'s start-up than require('ws')
 * (docs/werift-patches.md, "A fresh `sigctl peer` process"). Same class, same module instance.
 */
import { createRequire } from 'node:module';
import type WsWebSocket from 'ws';

/** ws's WebSocket class. */
export const WebSocket = createRequire(import.meta.url)('ws') as typeof WsWebSocket;
/** A ws WebSocket. */
export type WebSocket = WsWebSocket;
