/**
 * Operations: graceful drain (readyz 503, upgrades refused, bye, close 1001), immediate close,
 * TLS (wss with a self-signed certificate made by the openssl binary) and /metrics content.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as pathJoin } from 'node:path';
import { request } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { SigctlError } from '../../src/protocol/errors.js';
import { RELAY_SAMPLE } from '../../src/server/dispatch.js';
import { Resources, startTestServer, TestClient, within } from '../helpers/server-harness.js';
import { requires } from '../helpers/requires.js';

describe('server operations', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  /** A server with a joined member `a` and a connected `b`, draining; both have had their bye. */
  const drainingPair = async (drainMs: number) => {
    const s = res.server(await startTestServer({ drainMs, reconnectMs: 750 }));
    const a = res.client(await TestClient.connect(s.url));
    a.send({ type: 'join', room: 'd' });
    await a.next('joined');
    const b = res.client(await TestClient.connect(s.url));
    const draining = s.drain();
    expect(s.draining).toBe(true);
    expect(await a.next('bye')).toEqual({ type: 'bye', reason: 'shutdown', reconnectMs: 750 });
    expect(await b.next('bye')).toEqual({ type: 'bye', reason: 'shutdown', reconnectMs: 750 });
    return { s, a, b, draining };
  };

  // drainMs is far longer than the test: every check below runs inside the drain however slow
  // the machine is, and the close after drainMs is the next test's.
  it('drain: readyz 503, new upgrades 503, bye to everyone, and the connections still served meanwhile', async () => {
    const { s, a, b, draining } = await drainingPair(60_000);
    const ready = await within(fetch(`${s.httpUrl}/readyz`), 2000, 'readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ draining: true });
    expect((await within(fetch(`${s.httpUrl}/healthz`), 2000, 'healthz')).status).toBe(200);
    await expect(TestClient.open(s.url)).rejects.toThrow(/503/);
    // Joins on existing connections are refused while draining.
    b.send({ type: 'join', room: 'late', id: 1 });
    expect(await b.error()).toMatchObject({ code: 'SHUTTING_DOWN', re: 1 });
    // Until drainMs the connections stay open and answered: a's marker ping gets its pong.
    await a.settled();
    expect(a.ws.readyState).toBe(a.ws.OPEN);
    expect(s.draining).toBe(true);
    // close() cuts a drain short.
    await s.close();
    await within(draining, 5000, 'drain to finish after close');
  });

  it('drain: the connections that stay are closed 1001 once drainMs is over, then the server stops', async () => {
    const { s, a, b, draining } = await drainingPair(100);
    // Neither client leaves: only the end of drainMs closes them.
    expect((await a.waitClosed(5000)).code).toBe(CloseCode.GOING_AWAY);
    expect((await b.waitClosed(5000)).code).toBe(CloseCode.GOING_AWAY);
    await within(draining, 5000, 'drain to finish');
    await expect(within(fetch(`${s.httpUrl}/healthz`), 2000, 'healthz after close')).rejects.toThrow();
  });

  it('drain finishes early when every client has left', async () => {
    const s = res.server(await startTestServer({ drainMs: 60_000 }));
    const a = res.client(await TestClient.connect(s.url));
    const draining = s.drain();
    await a.next('bye');
    await a.close();
    await within(draining, 5000, 'drain to finish early');
  });

  it('close is immediate and idempotent', async () => {
    const s = res.server(await startTestServer());
    const a = res.client(await TestClient.connect(s.url));
    await Promise.all([s.close(), s.close()]);
    await s.close();
    expect((await a.waitClosed()).code).toBe(1006);
  });

  it('fails with LISTEN_FAILED when the port is taken', async () => {
    const s = res.server(await startTestServer());
    const err = await startTestServer({ port: s.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SigctlError);
    expect((err as SigctlError).code).toBe('LISTEN_FAILED');
    expect((err as SigctlError).message).toMatch(/EADDRINUSE/);
  });

  it('exposes Prometheus metrics: connections, rooms, joins, relayed, errors by code, latency histograms', async () => {
    // A burst deep enough for RELAY_SAMPLE signals at once.
    const s = res.server(await startTestServer({ limits: { burst: 1000, messagesPerSecond: 1000 } }));
    const a = res.client(await TestClient.connect(s.url));
    const b = res.client(await TestClient.connect(s.url));
    a.send({ type: 'join', room: 'm' });
    await a.next('joined');
    b.send({ type: 'join', room: 'm' });
    await b.next('joined');
    // Relay latency is sampled 1 in RELAY_SAMPLE: send that many so exactly one is timed.
    for (let i = 0; i < RELAY_SAMPLE; i++) a.send({ type: 'signal', data: i });
    for (let i = 0; i < RELAY_SAMPLE; i++) await b.next('signal');
    b.send({ type: 'bogus' });
    await b.error();
    const r = await within(fetch(`${s.httpUrl}/metrics`), 2000, 'metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await r.text();
    expect(text).toMatch(/^sigctl_connections 2$/m);
    expect(text).toMatch(/^sigctl_rooms 1$/m);
    expect(text).toMatch(/^sigctl_members 2$/m);
    expect(text).toMatch(/^sigctl_joins_total\{result="joined"\} 2$/m);
    expect(text).toMatch(new RegExp(`^sigctl_messages_relayed_total ${RELAY_SAMPLE}$`, 'm'));
    expect(text).toMatch(/^sigctl_errors_total\{code="UNKNOWN_TYPE"\} 1$/m);
    expect(text).toMatch(/^sigctl_join_duration_seconds_count 2$/m);
    expect(text).toMatch(/^sigctl_relay_duration_seconds_count 1$/m);
    // Per-server registries: a second server in the same process starts from zero.
    const s2 = res.server(await startTestServer());
    expect(await s2.metrics()).toMatch(/^sigctl_connections 0$/m);
  });

  describe('TLS', requires('openssl'), () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(pathJoin(tmpdir(), 'sigctl-tls-'));
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', pathJoin(dir, 'key.pem'), '-out', pathJoin(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
        { stdio: 'ignore', timeout: 20_000 },
      );
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('serves https and wss with tls.cert and tls.key', async () => {
      const s = res.server(await startTestServer({ tls: { cert: pathJoin(dir, 'cert.pem'), key: pathJoin(dir, 'key.pem') } }));
      expect(s.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
      expect(s.httpUrl).toMatch(/^https:/);
      const ca = readFileSync(pathJoin(dir, 'cert.pem'));
      const a = res.client(await TestClient.connect(s.url, { ca }));
      a.send({ type: 'join', room: 'secure' });
      await a.next('joined');
      const status = await within(
        new Promise<number>((resolve, reject) => {
          request(`${s.httpUrl}/healthz`, { ca }, (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          })
            .on('error', reject)
            .end();
        }),
        3000,
        'https healthz',
      );
      expect(status).toBe(200);
      // An untrusted client fails its handshake; the server keeps serving.
      await expect(TestClient.open(s.url)).rejects.toThrow();
      res.client(await TestClient.connect(s.url, { ca }));
    });

    it('fails with LISTEN_FAILED for missing TLS files', async () => {
      const err = await startTestServer({ tls: { cert: pathJoin(dir, 'none.pem'), key: pathJoin(dir, 'key.pem') } }).catch((e: unknown) => e);
      expect((err as SigctlError).code).toBe('LISTEN_FAILED');
    });
  });
});
