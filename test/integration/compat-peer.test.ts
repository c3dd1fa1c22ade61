/**
 * `sigctl peer --echo` as the far end of a legacy STOMP client: a libdatachannel peer (node-datachannel)
 * that signals in the Spring "seed" dialect ({"type":"OFFER","sdp"}, {"type":"CANDIDATE",...}) over
 * @stomp/stompjs gets its answer and candidates in that dialect and an echoing data channel.
 */
import { afterEach, expect, it } from 'vitest';
import { requireEngine } from '../../src/bench/engine.js';
import { jsonLines, startCli, stopAll } from '../helpers/peer-cli.js';
import { Resources, startTestServer, within } from '../helpers/server-harness.js';
import { StompPeer } from '../helpers/stomp-client.js';

const res = new Resources();
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await stopAll();
  await res.closeAll();
});

it('a node-datachannel peer speaking the seed dialect over STOMP gets a data channel from sigctl peer --echo', async () => {
  requireEngine('node-datachannel');
  const ndc = await import('node-datachannel');
  const server = res.server(await startTestServer({ compat: { stomp: true } }));
  const echo = startCli(['peer', '--room', 'legacy-1', '--url', server.url, '--echo', '--json', '--timeout', '60']);
  await echo.waitForLine((l) => l.includes('"type":"joined"'), 20_000, 'sigctl peer joined');

  const stomp = new StompPeer(server.url);
  closers.push(() => stomp.close());
  await stomp.connect();
  stomp.subscribeAll('legacy-1');
  await stomp.sendWithReceipt('/app/rooms/legacy-1/join', { roomId: 'legacy-1', displayName: 'legacy' });
  const sid = (JSON.parse((await stomp.next('/user/queue/me')).body) as { sid: string }).sid;
  await stomp.signal('legacy-1', 'READY');

  const pc = new ndc.PeerConnection('legacy', { iceServers: [] });
  closers.push(() => pc.close());
  const send = (body: unknown): void => stomp.send('/app/rooms/legacy-1/signal', body);
  // The offerer holds its candidates until the answer is set (libdatachannel checks the DTLS
  // fingerprint against the stored answer: see src/bench/engine-ndc.ts).
  const held: unknown[] = [];
  let answered = false;
  pc.onLocalDescription((sdp, type) => send({ type: type.toUpperCase(), sid, sdp }));
  pc.onLocalCandidate((candidate, mid) => {
    const body = { type: 'CANDIDATE', sid, candidate: { candidate, sdpMid: mid, sdpMLineIndex: 0 } };
    if (answered) send(body);
    else held.push(body);
  });
  const answers: Array<Record<string, unknown>> = [];
  stomp.on('/topic/rooms/legacy-1/signal', (body, m) => {
    const b = body as { type?: string; sdp?: string; candidate?: { candidate: string; sdpMid: string } };
    if (b.type === 'ANSWER' && typeof b.sdp === 'string') {
      answers.push({ ...b, from: m.headers.sid });
      pc.setRemoteDescription(b.sdp, 'answer');
      answered = true;
      for (const h of held.splice(0)) send(h);
    } else if (b.type === 'CANDIDATE' && b.candidate !== undefined) {
      pc.addRemoteCandidate(b.candidate.candidate, b.candidate.sdpMid);
    }
  });
  const dc = pc.createDataChannel('chat');
  closers.push(() => dc.close());
  const echoed = new Promise<string>((resolve) => dc.onMessage((msg) => resolve(typeof msg === 'string' ? msg : '<binary>')));
  await within(new Promise<void>((resolve) => dc.onOpen(() => resolve())), 20_000, 'the data channel to open');
  dc.sendMessage('hello from a seed client');
  expect(await within(echoed, 10_000, 'the echo')).toBe('hello from a seed client');

  // The answer came in the dialect it was spoken to, from the sigctl peer's member id.
  const joined = jsonLines(echo.lines).find((e) => e.type === 'joined') as { self?: { id?: string } } | undefined;
  expect(answers).toHaveLength(1);
  expect(answers[0]).toMatchObject({ type: 'ANSWER', from: joined?.self?.id, sid: joined?.self?.id });
});
