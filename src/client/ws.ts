/**
 * The `ws` WebSocket class, loaded with require(). ws is CommonJS; `import WebSocket from 'ws'`
 * goes through its ESM wrapper (wrapper.mjs), which makes Node lex five of its CommonJS modules
 * for named exports, a measurable part of a fresh `sigctl peer`'s start-up that require('ws')
 * avoids (docs/werift-patches.md, "A fresh `sigctl peer` process", measured by
 * `npm run bench:peer-startup` and a CPU profile). Same class, same module instance.
 */
import { createRequire } from 'node:module';
import type WsWebSocket from 'ws';

/** ws's WebSocket class. */
export const WebSocket = createRequire(import.meta.url)('ws') as typeof WsWebSocket;
/** A ws WebSocket. */
export type WebSocket = WsWebSocket;
