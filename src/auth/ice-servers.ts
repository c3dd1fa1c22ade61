/**
 * Builds the RTCIceServer list handed to clients in `welcome` and by `GET /v1/ice-servers`:
 * STUN URLs as configured, TURN servers with static credentials or fresh REST credentials.
 */
import type { Config } from '../config/schema.js';
import type { IceServer } from '../protocol/messages.js';
import { turnRestCredentials } from './turn-credentials.js';

/** The ice servers for one session. `user` names the session in TURN REST usernames. */
export function iceServersFor(ice: Config['ice'], user: string, nowMs: number): IceServer[] {
  const out: IceServer[] = [];
  if (ice.stun.length > 0) out.push({ urls: ice.stun.length === 1 ? ice.stun[0]! : [...ice.stun] });
  for (const turn of ice.turn) {
    const urls = turn.urls.length === 1 ? turn.urls[0]! : [...turn.urls];
    if (turn.secret !== undefined) {
      const { username, credential } = turnRestCredentials(turn.secret, user, turn.ttlSeconds, nowMs);
      out.push({ urls, username, credential });
    } else if (turn.username !== undefined && turn.credential !== undefined) {
      out.push({ urls, username: turn.username, credential: turn.credential });
    } else {
      out.push({ urls });
    }
  }
  return out;
}

