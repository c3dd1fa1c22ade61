/**
 * deferX509Load() (src/peer/werift-x509.ts) in a real, fresh Node process running the built
 * library: werift loads without @peculiar/x509 and its schema packages, a data channel opens
 * between two sigctl-made werift peers, and werift's own certificate path (which does need
 * @peculiar/x509) still works afterwards, loading the real module on first use.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { within } from '../helpers/peer-timeout.js';

const DIST = fileURLToPath(new URL('../../dist/peer/', import.meta.url));

const SCRIPT = `
import { createRequire } from 'node:module';
const dist = process.argv[1];
const { deferX509Load } = await import(dist + 'werift-x509.js');
const deferral = deferX509Load();
const again = deferX509Load();
const { createWeriftPeerConnection } = await import(dist + 'werift-factory.js');
const werift = await import('werift');
const cache = createRequire(import.meta.url).cache;
// The stand-in sits at @peculiar/x509's own path: look for what the real module pulls in.
const loaded = () => Object.keys(cache).some((k) => k.includes('/@peculiar/asn1-') || k.includes('/asn1js/') || k.includes('/tsyringe/'));
const afterImport = loaded();
const opts = { iceServers: [], bindAddress: '127.0.0.1' };
const a = createWeriftPeerConnection(opts);
const b = createWeriftPeerConnection(opts);
const dc = a.createDataChannel('x');
const echoed = new Promise((resolve) => {
  b.onDataChannel.subscribe((ch) => ch.onMessage.subscribe((m) => ch.send(m)));
  dc.onMessage.subscribe((m) => resolve(String(m)));
});
dc.stateChanged.subscribe((s) => { if (s === 'open') dc.send('ping'); });
a.onIceCandidate.subscribe((c) => { if (c) b.addIceCandidate(c).catch(() => {}); });
b.onIceCandidate.subscribe((c) => { if (c) a.addIceCandidate(c).catch(() => {}); });
await a.setLocalDescription(await a.createOffer());
await b.setRemoteDescription(a.localDescription);
await b.setLocalDescription(await b.createAnswer());
await a.setRemoteDescription(b.localDescription);
const echo = await echoed;
const afterConnect = loaded();
const own = await werift.RTCDtlsTransport.SetupCertificate();
await Promise.all([a.close(), b.close()]);
console.log(JSON.stringify({ deferral, again, afterImport, echo, afterConnect, ownCert: own.certPem.startsWith('-----BEGIN CERTIFICATE-----'), afterOwnCert: loaded() }));
`;

function runNode(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // cwd = the repository, so 'werift' resolves from node_modules as it does for dist.
    const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT, DIST], { cwd: fileURLToPath(new URL('../../', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

describe('deferX509Load', () => {
  it('loads werift without @peculiar/x509; channels open; werift’s own certificate still works', async () => {
    const res = await within(runNode(), 20_000, 'the child process');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      deferral: { deferred: true },
      again: { deferred: true },
      afterImport: false,
      echo: 'ping',
      afterConnect: false,
      ownCert: true,
      afterOwnCert: true,
    });
  });
});
