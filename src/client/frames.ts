/**
 * Inbound frames: every server frame is parsed and validated with the protocol's ServerMessage
 * schema; nothing from the wire is trusted by a cast.
 */
import { SigctlError } from '../protocol/errors.js';
import { ServerMessage } from '../protocol/messages.js';

/** The validated frame, or the BAD_MESSAGE error describing why it is not one. */
export function parseServerText(text: string): ServerMessage | SigctlError {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return new SigctlError('BAD_MESSAGE', 'the server sent a frame that is not JSON');
  }
  const parsed = ServerMessage.safeParse(json);
  if (parsed.success) return parsed.data;
  const type = typeof json === 'object' && json !== null && 'type' in json ? String(json.type) : '?';
  return new SigctlError('BAD_MESSAGE', `invalid ${type} frame from the server: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
}
