/**
 * Checks on SDP received from the wire. werift accepts garbage SDP without complaint and then never
 * connects, so a description is checked for what a data-channel session cannot do without.
 */

/** Why `sdp` cannot be used for a data-channel session, or undefined when it looks usable. */
export function sdpProblem(sdp: string): string | undefined {
  if (!sdp.startsWith('v=0')) return 'does not start with v=0';
  if (!/^m=application \d+ [A-Z/]*SCTP/m.test(sdp)) return 'has no m=application (SCTP data channel) section';
  if (!/^a=ice-ufrag:\S+/m.test(sdp)) return 'has no a=ice-ufrag';
  if (!/^a=ice-pwd:\S+/m.test(sdp)) return 'has no a=ice-pwd';
  if (!/^a=fingerprint:\S+ \S+/m.test(sdp)) return 'has no a=fingerprint';
  return undefined;
}

/** The ICE ufrag and DTLS fingerprint of a description: when either changes, it is a new session (ICE restart). */
export function sessionIdentity(sdp: string): string {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] ?? '';
  const fingerprint = /^a=fingerprint:(\S+ \S+)/m.exec(sdp)?.[1] ?? '';
  return `${ufrag}|${fingerprint}`;
}
