/**
 * Inbound frames: every server frame is parsed and validated with the protocol's ServerMessage
 * schema; nothing from the wire is trusted by a cast. Also the socket close helper.
 */
import type { RawData } from 'ws';
import { WebSocket } from './ws.js';
import { SigctlError } from '../protocol/errors.js';
import { ServerMessage } from '../protocol/messages.js';
import type { Clock } from './clock.js';

/** The validated frame, or the BAD_MESSAGE error describing why it is not one. */
export function parseServerFrame(raw: RawData, isBinary: boolean): ServerMessage | SigctlError {
  if (isBinary) return new SigctlError('BAD_MESSAGE', 'the server sent a binary frame; protocol v1 is text only');
  let json: unknown;
  try {
    json = JSON.parse(rawToString(raw));
  } catch {
    return new SigctlError('BAD_MESSAGE', 'the server sent a frame that is not JSON');
  }
  const parsed = ServerMessage.safeParse(json);
  if (parsed.success) return parsed.data;
  const type = typeof json === 'object' && json !== null && 'type' in json ? String(json.type) : '?';
  return new SigctlError('BAD_MESSAGE', `invalid ${type} frame from the server: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
}

function rawToString(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

/** Closes a socket with 1000 and resolves when it is closed (terminating it after 2 s). */
export function closeSocket(ws: WebSocket, clock: Clock): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => {
      ws.terminate();
      resolve();
    }, 2_000);
    ws.once('close', () => {
      clock.clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000);
  });
}
