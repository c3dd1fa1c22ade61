/**
 * The werift runtime patches themselves (issue 5): version gate, and the SCTP behaviours they fix,
 * exercised on real werift SCTP associations (built the way werift builds them, via an exported
 * RTCSctpTransport) without a network.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RTCDtlsTransport, RTCPeerConnection, RTCSctpTransport, crc32c } from 'werift';
import { applyWeriftPatches, prewarmWerift, weriftVersionProblem } from '../../src/peer/patches/index.js';
import { installedWeriftVersion } from '../../src/peer/patches/version.js';
import { reachWeriftInternals } from '../../src/peer/patches/reach.js';
import { serializeSctpPacket, sctpChecksumOk } from '../../src/peer/patches/sctp-packet.js';
import type { SackChunkLike, SctpLike } from '../../src/peer/patches/internals.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

beforeAll(() => {
  expect(applyWeriftPatches().skipped).toEqual([]);
});

/** A werift SCTP association with a capturing transport, as RTCSctpTransport builds it. */
function association(): { sctp: SctpLike; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const transport = new RTCSctpTransport() as unknown as { sctp: SctpLike; setDtlsTransport(d: unknown): void };
  transport.setDtlsTransport({
    id: `test-${Math.random()}`,
    dataReceiver: () => undefined,
    onStateChange: { subscribe: () => ({ unSubscribe: () => undefined }) },
    sendData: (d: Buffer) => {
      sent.push(d);
      return Promise.resolve();
    },
  });
  const sctp = transport.sctp;
  sctp.remotePort = 5000;
  sctp.transport.send = (d: Buffer) => {
    sent.push(d);
    return Promise.resolve();
  };
  return { sctp, sent };
}

describe('werift patch version gate', () => {
  it('accepts only the pinned version and says why otherwise', () => {
    expect(weriftVersionProblem('0.24.4')).toBeUndefined();
    expect(weriftVersionProblem('0.25.2')).toMatch(/werift 0\.25\.2 is installed; these patches target exactly 0\.24\.4/);
    expect(weriftVersionProblem(undefined)).toMatch(/not found/);
  });

  it('reads the version of the werift a module resolves, not a guess', () => {
    expect(installedWeriftVersion()).toBe('0.24.4');
    const root = mkdtempSync(join(tmpdir(), 'sigctl-werift-'));
    dirs.push(root);
    const pkg = join(root, 'node_modules', 'werift');
    mkdirSync(join(pkg, 'lib'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'werift', version: '0.25.2', main: 'lib/index.js' }));
    writeFileSync(join(pkg, 'lib', 'index.js'), '');
    expect(installedWeriftVersion(pathToFileURL(join(root, 'app.js')).href)).toBe('0.25.2');
    expect(installedWeriftVersion(pathToFileURL(join(tmpdir(), 'nowhere', 'app.js')).href)).toBeUndefined();
  });
});

describe('patched SCTP internals', () => {
  it('serialises a DATA packet byte-for-byte like werift, with a valid CRC32c', () => {
    const { DataChunk } = reachWeriftInternals();
    const chunk = new DataChunk(0, undefined);
    chunk.flags = 3;
    chunk.tsn = 4_000_000_001;
    chunk.streamId = 7;
    chunk.streamSeqNum = 9;
    chunk.protocol = 53;
    chunk.userData = Buffer.from('odd-length payload!');
    const packet = serializeSctpPacket(5000, 5001, 0xdeadbeef, chunk);
    // werift's own encoding: common header + DataChunk.bytes, checksum over the zeroed field.
    const body = chunk.bytes;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(5000, 0);
    header.writeUInt16BE(5001, 2);
    header.writeUInt32BE(0xdeadbeef, 4);
    const expected = Buffer.concat([header, body]);
    expected.writeUInt32LE(crc32c(expected), 8);
    expect(packet.equals(expected)).toBe(true);
    expect(sctpChecksumOk(packet)).toBe(true);
    packet[30] = (packet[30] as number) ^ 1;
    expect(sctpChecksumOk(packet)).toBe(false);
  });

  it('advances the cumulative TSN numerically across a power of ten and the 2^32 wrap', () => {
    const { sctp } = association();
    sctp.lastReceivedTsn = 999_999_997;
    for (const tsn of [1_000_000_000, 999_999_999]) expect(sctp.markReceived(tsn)).toBe(false);
    expect(sctp.lastReceivedTsn).toBe(999_999_997);
    expect(sctp.markReceived(999_999_998)).toBe(false);
    expect(sctp.lastReceivedTsn).toBe(1_000_000_000);
    expect(sctp.markReceived(999_999_999)).toBe(true); // duplicate

    sctp.lastReceivedTsn = 2 ** 32 - 2;
    expect(sctp.markReceived(0)).toBe(false);
    expect(sctp.markReceived(2 ** 32 - 1)).toBe(false);
    expect(sctp.lastReceivedTsn).toBe(0);
  });

  it('reports gap blocks in numeric order relative to the cumulative TSN', async () => {
    const { sctp, sent } = association();
    const { SackChunk } = reachWeriftInternals();
    sctp.lastReceivedTsn = 999_999_990;
    for (const tsn of [1_000_000_001, 999_999_995, 999_999_992, 1_000_000_002, 999_999_993]) sctp.markReceived(tsn);
    sctp.sackNeeded = true;
    await sctp.sendSack();
    const packet = sent.at(-1);
    expect(packet).toBeDefined();
    const sack = new SackChunk(0, (packet as Buffer).subarray(16));
    expect(sack.cumulativeTsn).toBe(999_999_990);
    expect(sack.gaps).toEqual([
      [2, 3],
      [5, 5],
      [11, 12],
    ]);
  });

  it('fast-retransmits a lost chunk once, not again while its retransmission is in flight', async () => {
    const { sctp, sent } = association();
    const { DataChunk, SackChunk } = reachWeriftInternals();
    sctp.associationState = 4;
    sctp.cwnd = 100_000;
    sctp.ssthresh = 100_000;
    const base = sctp.localTsn;
    for (let i = 0; i < 12; i++) {
      const c = new DataChunk(0, undefined);
      c.flags = 3;
      c.tsn = (base + i) % 2 ** 32;
      c.userData = Buffer.alloc(100);
      c.bookSize = 100;
      sctp.outboundQueue.push(c);
    }
    await sctp.transmit();
    expect(sent.length).toBe(12);
    const lost = base; // the first chunk never arrives; the peer reports gaps growing after it
    const sackFor = (highest: number): SackChunkLike => {
      const s = new SackChunk(0, undefined);
      s.cumulativeTsn = (lost - 1 + 2 ** 32) % 2 ** 32;
      s.advertisedRwnd = 1_000_000;
      s.gaps = [[2, highest]];
      s.duplicates = [];
      return s;
    };
    const resent = (): number => sent.filter((p) => p.length > 16 && p.readUInt32BE(16) === lost).length;
    for (let h = 2; h <= 12; h++) await sctp.receiveSackChunk(sackFor(h));
    expect(resent()).toBe(2); // the original send + exactly one fast retransmission
    expect(sctp.flightSize).toBe(100); // only the retransmitted chunk is outstanding
    for (const handle of [sctp.timer3Handle]) if (handle) clearTimeout(handle);
    sctp.timer3Cancel();
  });
});

describe('prewarmWerift', () => {
  it('creates the process certificate and completes a throwaway loopback connection', async () => {
    expect(await prewarmWerift({ handshake: false })).toBe(false); // certificate only
    expect(RTCDtlsTransport.localCertificate).toBeDefined();
    expect(await prewarmWerift({ timeoutMs: 10_000 })).toBe(true);
    expect(RTCDtlsTransport.localCertificate).toBeDefined();
  }, 20_000);
});

describe('no-default-stun', () => {
  it('gathers without a STUN server when none is configured, and keeps a configured one', async () => {
    const gather = async (iceServers: { urls: string }[]): Promise<unknown> => {
      const pc = new RTCPeerConnection({ iceServers, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'] });
      try {
        pc.createDataChannel('x');
        const done = new Promise<void>((resolve) => {
          pc.iceGatheringStateChange.subscribe((s) => {
            if (s === 'complete') resolve();
          });
        });
        await pc.setLocalDescription(await pc.createOffer());
        if (pc.iceGatheringState !== 'complete') {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, 8000)))]).finally(() => clearTimeout(timer));
        }
        expect(pc.iceGatheringState).toBe('complete');
        const connection = pc.iceTransports[0]?.connection as unknown as { stunServer: unknown };
        return connection.stunServer;
      } finally {
        await pc.close();
      }
    };
    expect(await gather([])).toBeUndefined(); // werift alone would use stun.l.google.com:19302
    expect(await gather([{ urls: 'stun:127.0.0.1:3478' }])).toEqual(['127.0.0.1', 3478]);
  }, 20_000);
});
