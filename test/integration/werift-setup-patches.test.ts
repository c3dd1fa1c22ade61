/**
 * The connection-setup patches of issue 17 on real peers: an early DTLS ClientHello from
 * libdatachannel is replayed, not dropped (dtls-early-records); P-256 through node:crypto gives
 * noble's exact results (p256-native); host candidates' sockets are bound to their own address
 * (host-bind). Real werift and node-datachannel peers on this host; every wait is bounded.
 */
import { createRequire } from 'node:module';
import type { NetworkInterfaceInfo } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RTCPeerConnection } from 'werift';
import * as Ndc from 'node-datachannel';
import { createWeriftPeerConnection, prepareWerift, weriftPatchStatus } from '../../src/peer/werift-factory.js';
import { skippedPatchesWarning } from '../../src/peer/patch-status.js';
import { createPeerSession } from '../../src/peer/index.js';
import { nextEvent } from '../helpers/peer-timeout.js';
import { startPeerTestServer } from '../helpers/peer-server.js';
import { WERIFT_PATCH_NAMES } from '../../src/peer/patches/index.js';
import { nativePublicKey, nativeSharedSecret } from '../../src/peer/patches/p256-native.js';
import { bindableHostAddress, hostBindOptions } from '../../src/peer/patches/host-bind.js';
import { EARLY_DTLS_BYTES, EARLY_DTLS_DATAGRAMS, keepEarlyRecord } from '../../src/peer/patches/dtls-early-records.js';
import { within } from '../helpers/within.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await within(Promise.resolve(close()), 5000, 'close').catch(() => undefined);
});

beforeAll(() => {
  prepareWerift();
});

describe('runtime patch report', () => {
  it('applies every patch on the pinned werift: none is skipped', () => {
    const status = weriftPatchStatus();
    expect(status?.weriftVersion).toBe('0.24.4');
    expect(status?.skipped).toEqual([]);
    expect(status?.applied).toEqual(WERIFT_PATCH_NAMES);
  });

  it('a peer session reports the status after joined and logs no warning when nothing was skipped', async () => {
    const server = await startPeerTestServer();
    closers.push(() => server.close());
    const warnings: string[] = [];
    const session = createPeerSession({
      url: server.url,
      room: 'patch-status',
      bindAddress: '127.0.0.1',
      connectTimeoutMs: 3_000,
      reconnect: false,
      logger: { debug: () => undefined, warn: (_fields, msg) => warnings.push(msg ?? '') },
    });
    closers.push(() => session.close());
    const order: string[] = [];
    session.on('joined', () => order.push('joined'));
    session.on('patches', () => order.push('patches'));
    const reported = nextEvent(session, 'patches', 10_000);
    await within(session.start(), 10_000, 'session start');
    const [status] = await reported;
    expect(status).toEqual(weriftPatchStatus());
    expect(status.applied).toEqual(WERIFT_PATCH_NAMES);
    expect(order).toEqual(['joined', 'patches']);
    expect(warnings).toEqual([]);
  });

  it('turns skipped patches into one warning, grouped by reason', () => {
    const base = { weriftVersion: '0.25.0', targetVersion: '0.24.4', applied: [], alreadyApplied: [] };
    expect(skippedPatchesWarning({ ...base, skipped: [] })).toBeUndefined();
    const warning = skippedPatchesWarning({
      ...base,
      skipped: [
        { name: 'send-queue', reason: 'werift 0.25.0 is installed' },
        { name: 'p256-native', reason: 'werift 0.25.0 is installed' },
        { name: 'host-bind', reason: 'not a function' },
      ],
    });
    expect(warning).toBe('3 werift runtime patch(es) not applied, werift runs without them: send-queue, p256-native (werift 0.25.0 is installed); host-bind (not a function)');
  });
});

/**
 * Counts ClientHellos without a cookie (a client's first flight, or its retransmission) arriving at
 * `pc`'s sockets: on the wire, before werift (or the patch's replay) sees them.
 */
function countFirstClientHellos(pc: RTCPeerConnection): { count: () => number; first: Promise<void> } {
  let n = 0;
  let resolveFirst!: () => void;
  const first = new Promise<void>((r) => (resolveFirst = r));
  type Protocol = { onDataReceived: { subscribe(cb: (b: Buffer) => void): unknown } };
  const { connection } = pc.iceTransports[0] as unknown as { connection: { protocols: Protocol[] } };
  for (const protocol of connection.protocols) {
    protocol.onDataReceived.subscribe((buf) => {
      // DTLS record (13 bytes) + handshake header (12); ClientHello: version 2, random 32, session id, cookie.
      if (buf.length < 61 || buf[0] !== 22 || buf[13] !== 1) return;
      const sessionIdLength = buf[59]!;
      if (buf[60 + sessionIdLength] !== 0) return;
      n++;
      resolveFirst();
    });
  }
  return { count: () => n, first };
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    else pc.iceGatheringStateChange.subscribe((s) => s === 'complete' && resolve());
  });
}

describe('dtls-early-records', () => {
  it('keeps the most recent datagrams, within both bounds', () => {
    const early = { datagrams: [] as Buffer[], bytes: 0 };
    for (let i = 0; i < EARLY_DTLS_DATAGRAMS + 2; i++) keepEarlyRecord(early, Buffer.alloc(100, i));
    expect(early.datagrams.map((d) => d[0])).toEqual([2, 3, 4, 5]);
    keepEarlyRecord(early, Buffer.alloc(EARLY_DTLS_BYTES - 150, 9));
    expect(early.datagrams.map((d) => d[0])).toEqual([5, 9]);
    expect(early.bytes).toBe(EARLY_DTLS_BYTES - 50);
    keepEarlyRecord(early, Buffer.alloc(EARLY_DTLS_BYTES + 1));
    expect(early.datagrams).toHaveLength(2);
  });

  it('werift offers, libdatachannel answers and sends its ClientHello before werift has the answer: no retransmission needed', async () => {
    const werift = createWeriftPeerConnection({ iceServers: [], bindAddress: '127.0.0.1' });
    closers.push(() => werift.close());
    const wChannel = werift.createDataChannel('early');
    const wOpen = new Promise<void>((r) => wChannel.stateChanged.subscribe((s) => s === 'open' && r()));
    await werift.setLocalDescription(await werift.createOffer());
    await within(gathered(werift), 10_000, 'werift gathering');
    const hellos = countFirstClientHellos(werift);

    const ndc = new Ndc.PeerConnection('early', { iceServers: [], bindAddress: '127.0.0.1' });
    closers.push(() => ndc.close());
    const answer = new Promise<string>((r) => ndc.onLocalDescription((sdp, type) => type === 'answer' && r(sdp)));
    // Kept referenced: libdatachannel holds its channels weakly, so a channel whose JavaScript
    // object is garbage-collected before it opens is destroyed.
    const nChannels: unknown[] = [];
    const nOpen = new Promise<void>((r) =>
      ndc.onDataChannel((dc) => {
        nChannels.push(dc);
        if (dc.isOpen()) r();
        else dc.onOpen(() => r());
      }),
    );
    ndc.setRemoteDescription(werift.localDescription!.sdp, 'offer');
    const answerSdp = await within(answer, 10_000, 'libdatachannel answer');

    // libdatachannel connects ICE through werift's answers to its checks and sends its ClientHello
    // while werift, without the answer, has no DTLS transport: the race of issue 17.
    await within(hellos.first, 10_000, 'the first ClientHello reaching werift');
    await werift.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    await within(Promise.all([wOpen, nOpen]), 15_000, 'both channels open');
    // Unpatched, the first ClientHello is dropped and the channel opens only after OpenSSL resent it (1 s).
    expect(hellos.count()).toBe(1);
  }, 30_000);
});

describe('p256-native', () => {
  // noble's CommonJS build: a separate module instance from the ES one werift imports, so unpatched.
  const noble = (createRequire(import.meta.url)('@noble/curves/p256') as { p256: { utils: { randomPrivateKey(): Uint8Array }; getPublicKey(k: Uint8Array, c?: boolean): Uint8Array; getSharedSecret(a: Uint8Array, b: Uint8Array, c?: boolean): Uint8Array } }).p256;

  it('gives the same public keys and shared secrets as @noble/curves, compressed and not', () => {
    for (let i = 0; i < 16; i++) {
      const a = noble.utils.randomPrivateKey();
      const b = noble.utils.randomPrivateKey();
      for (const compressed of [true, false]) {
        expect(nativePublicKey(a, compressed)).toEqual(noble.getPublicKey(a, compressed));
        const pubB = noble.getPublicKey(b, !compressed);
        expect(nativeSharedSecret(a, pubB, compressed)).toEqual(noble.getSharedSecret(a, pubB, compressed));
      }
    }
  });

  it('leaves what node:crypto refuses to noble (undefined here)', () => {
    const pub = noble.getPublicKey(noble.utils.randomPrivateKey(), false);
    expect(nativePublicKey(new Uint8Array(31))).toBeUndefined();
    expect(nativePublicKey(new Uint8Array(32))).toBeUndefined(); // zero is not a key
    expect(nativeSharedSecret(new Uint8Array(32).fill(1), new Uint8Array(65).fill(4))).toBeUndefined(); // not on the curve
    expect(nativeSharedSecret('ab', pub)).toBeUndefined();
  });

  it('is what werift uses: the ES module instance werift imports is patched', async () => {
    const { p256 } = (await import('@noble/curves/p256')) as unknown as { p256: { getPublicKey: (...a: unknown[]) => unknown } };
    const key = noble.utils.randomPrivateKey();
    expect(p256.getPublicKey.toString()).toContain('nativePublicKey');
    expect(p256.getPublicKey(key, false)).toEqual(noble.getPublicKey(key, false));
  });
});

describe('host-bind', () => {
  const interfaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    eth0: [
      { address: '192.0.2.2', family: 'IPv4', internal: false },
      { address: 'fe80::1', family: 'IPv6', internal: false },
    ],
  } as unknown as NodeJS.Dict<NetworkInterfaceInfo[]>;

  it('binds only to addresses of this host, of the socket family, never IPv6 link-local', () => {
    expect(bindableHostAddress('192.0.2.2', 'udp4', interfaces)).toBe(true);
    expect(bindableHostAddress('127.0.0.1', 'udp4', interfaces)).toBe(true);
    expect(bindableHostAddress('203.0.113.9', 'udp4', interfaces)).toBe(false);
    expect(bindableHostAddress('192.0.2.2', 'udp6', interfaces)).toBe(false);
    expect(bindableHostAddress('fe80::1', 'udp6', interfaces)).toBe(false);
    expect(hostBindOptions('udp4', { portRange: [1, 2] }, '127.0.0.1')).toEqual({ portRange: [1, 2], interfaceAddresses: { udp4: '127.0.0.1' } });
    expect(hostBindOptions('udp4', { portRange: [1, 2] }, '203.0.113.9')).toEqual({ portRange: [1, 2] });
    expect(hostBindOptions('udp4', {}, undefined)).toEqual({});
  });

  it("binds each host candidate's socket to the candidate's address", async () => {
    const pc = createWeriftPeerConnection({ iceServers: [] });
    closers.push(() => pc.close());
    pc.createDataChannel('bind');
    await pc.setLocalDescription(await pc.createOffer());
    await within(gathered(pc), 10_000, 'gathering');
    const connection = (pc.iceTransports[0] as unknown as { connection: { protocols: { localIp?: string; localCandidate?: { type: string }; transport?: { socket?: { address(): { address: string } } } }[] } }).connection;
    const hosts = connection.protocols.filter((p) => p.localCandidate?.type === 'host' && p.transport?.socket !== undefined);
    expect(hosts.map((p) => p.localIp)).toContain('127.0.0.1');
    for (const p of hosts) expect(p.transport?.socket?.address().address).toBe(p.localIp);
  });
});
