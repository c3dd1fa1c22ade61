/** werift helpers for the STUN/TURN tests: gather candidates and connect two peers directly, bounded. */
import { RTCPeerConnection, type RTCDataChannel, type RTCIceServer } from 'werift';
import { within } from './within.js';


export function makePeer(iceServers: RTCIceServer[], relayOnly = false): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers,
    iceTransportPolicy: relayOnly ? 'relay' : 'all',
    // Loopback is not gathered by default; the tests run everything on 127.0.0.1.
    iceAdditionalHostAddresses: ['127.0.0.1'],
  });
}

/**
 * Creates an offer on `pc` and collects its candidates until gathering completes or `ms` passes.
 * werift's setLocalDescription itself waits for gathering (which stalls when TURN refuses the
 * credentials), so it runs in the background and only the race is awaited.
 */
export async function gatherCandidates(pc: RTCPeerConnection, ms: number): Promise<{ candidates: string[]; complete: boolean }> {
  const candidates: string[] = [];
  pc.createDataChannel('probe');
  const done = new Promise<void>((resolve) => {
    pc.onIceCandidate.subscribe((c) => {
      if (c === undefined) resolve();
      else candidates.push(c.candidate);
    });
    pc.iceGatheringStateChange.subscribe((s) => {
      if (s === 'complete') resolve();
    });
  });
  const negotiation = pc.createOffer().then((offer) => pc.setLocalDescription(offer));
  negotiation.catch(() => undefined);
  let complete = true;
  await within(Promise.all([done, negotiation]), ms, 'ICE gathering').catch(() => {
    complete = false;
  });
  return { candidates, complete };
}

/** Negotiates `a` (offerer) with `b` directly, without a signaling server, and waits for an open channel. */
export async function connectPair(a: RTCPeerConnection, b: RTCPeerConnection, ms: number): Promise<{ channelA: RTCDataChannel; channelB: RTCDataChannel }> {
  const channelA = a.createDataChannel('test');
  const gotB = new Promise<RTCDataChannel>((resolve) => b.onDataChannel.subscribe((ch) => resolve(ch)));
  const openA = new Promise<void>((resolve) => {
    if (channelA.readyState === 'open') resolve();
    channelA.stateChanged.subscribe((s) => {
      if (s === 'open') resolve();
    });
  });
  // Trickle both ways so neither side waits for gathering to complete.
  a.onIceCandidate.subscribe((c) => {
    if (c !== undefined) void b.addIceCandidate(c).catch(() => undefined);
  });
  b.onIceCandidate.subscribe((c) => {
    if (c !== undefined) void a.addIceCandidate(c).catch(() => undefined);
  });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  const channelB = await within(Promise.all([gotB, openA]).then(([ch]) => ch), ms, 'data channel open');
  return { channelA, channelB };
}

/** The candidate types of the nominated pair of `pc`, e.g. { local: 'relay', remote: 'relay' }. */
export function selectedPairTypes(pc: RTCPeerConnection): { local: string; remote: string } | undefined {
  for (const transport of pc.iceTransports) {
    const pair = transport.connection.nominated;
    if (pair !== undefined) return { local: pair.localCandidate.type, remote: pair.remoteCandidate.type };
  }
  return undefined;
}
