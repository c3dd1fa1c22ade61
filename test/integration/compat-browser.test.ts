/**
 * A small STOMP page in headless Chromium (stompjs' own UMD bundle, served by the test) in a call
 * with `sigctl peer --echo` through `serve --compat stomp`: the page signals in the Spring "seed"
 * dialect, the peer answers in it, and the page's data channel gets its message echoed.
 */
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openServedPage, type ServedPage } from '../helpers/chromium.js';
import { startCli, stopAll } from '../helpers/peer-cli.js';
import { Resources, startTestServer, within } from '../helpers/server-harness.js';
import { requires } from '../helpers/requires.js';

// stompjs' own browser bundle: its "require" export is bundles/stomp.umd.js, the minified one lies beside it.
const STOMP_BUNDLE = join(dirname(createRequire(import.meta.url).resolve('@stomp/stompjs')), 'stomp.umd.min.js');

const PAGE = `<!doctype html><title>legacy STOMP call</title><script src="/stomp.umd.min.js"></script>
<script>
window.call = async (wsUrl, room) => {
  const client = new StompJs.Client({ brokerURL: wsUrl, reconnectDelay: 0, heartbeatIncoming: 0, heartbeatOutgoing: 0 });
  let sid;
  const pc = new RTCPeerConnection({ iceServers: [] });
  const dc = pc.createDataChannel('chat');
  const opened = new Promise((r) => (dc.onopen = r));
  const echoed = new Promise((r) => (dc.onmessage = (e) => r(e.data)));
  const send = (b) => client.publish({ destination: '/app/rooms/' + room + '/signal', body: JSON.stringify(b) });
  pc.onicecandidate = (e) => { if (e.candidate) send({ type: 'CANDIDATE', sid, candidate: e.candidate.toJSON() }); };
  await new Promise((resolve) => { client.onConnect = resolve; client.activate(); });
  const me = new Promise((r) => client.subscribe('/user/queue/me', (m) => { sid = JSON.parse(m.body).sid; r(); }));
  const ready = new Promise((r) => client.subscribe('/topic/rooms/' + room + '/signal', async (m) => {
    const b = JSON.parse(m.body);
    if (b.type === 'READY') r();
    else if (b.type === 'ANSWER') await pc.setRemoteDescription({ type: 'answer', sdp: b.sdp });
    else if (b.type === 'CANDIDATE') await pc.addIceCandidate(b.candidate);
  }));
  client.publish({ destination: '/app/rooms/' + room + '/join', body: JSON.stringify({ roomId: room, displayName: 'chromium' }) });
  await me;
  await ready;
  await pc.setLocalDescription(await pc.createOffer());
  send({ type: 'OFFER', sid, sdp: pc.localDescription.sdp });
  await opened;
  dc.send('hello from a STOMP page');
  return await echoed;
};
</script>`;

const res = new Resources();
let served: ServedPage | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
  await stopAll();
  await res.closeAll();
});

describe('a legacy STOMP page in Chromium', requires('chromium'), () => {
  it('gets an echoing data channel from sigctl peer --echo', { timeout: 90_000 }, async () => {
  const server = res.server(await startTestServer({ compat: { stomp: true } }));
  const echo = startCli(['peer', '--room', 'browser-legacy', '--url', server.url, '--echo', '--json', '--timeout', '60']);
  await echo.waitForLine((l) => l.includes('"type":"joined"'), 20_000, 'sigctl peer joined');

  served = await openServedPage((req, resp) => {
    if (req.url === '/stomp.umd.min.js') {
      resp.writeHead(200, { 'content-type': 'text/javascript' });
      createReadStream(STOMP_BUNDLE).pipe(resp);
    } else {
      resp.writeHead(200, { 'content-type': 'text/html' });
      resp.end(PAGE);
    }
  });
  const page = served.page;
  const echoed = await within(page.evaluate<string>(`window.call(${JSON.stringify(server.url)}, 'browser-legacy')`), 40_000, 'the page call').catch((e: unknown) => {
    throw new Error(`${String(e)}\nsigctl peer said:\n${echo.lines.join('\n')}\n${echo.stderr}`);
  });
  expect(echoed).toBe('hello from a STOMP page');
});
});
