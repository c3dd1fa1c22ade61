/**
 * A run in which nothing connects exits 1 with a coded error (the most frequent failure), even
 * with no gate given; the JSON document is still printed, with the error in it.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectRun } from '../../src/bench/peers.js';
import type { BenchReport } from '../../src/bench/report.js';
import { dominantCode, nothingConnected } from '../../src/bench/outcome.js';
import type { SignalingResult } from '../../src/bench/signaling.js';
import { runCli } from '../helpers/bench-cli.js';
import { freePort } from '../helpers/redis-server.js';

describe('sigctl bench when nothing connects', () => {
  it('names the most frequent failure code and counts only runs with no success', () => {
    expect(dominantCode({ TIMEOUT: 1, SERVER_UNREACHABLE: 3 })).toBe('SERVER_UNREACHABLE');
    expect(dominantCode({ CLOSED_1006: 2 })).toBe('CONNECTION_LOST');
    expect(nothingConnected('pair', 2, 1, { TIMEOUT: 1 })).toBeUndefined();
    expect(nothingConnected('pair', 0, 0, {})).toBeUndefined();
    const err = nothingConnected('client', 4, 0, { UNAUTHORIZED: 4 });
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', exitCode: 1 });
    expect(err?.message).toBe('nothing measured: no client joined (4 of 4 failed: UNAUTHORIZED x4)');
    expect(nothingConnected('pair', 1, 0, { ICE_FAILED: 1 }, 'libdatachannel: connection failed (...)')?.message).toBe(
      'nothing measured: no pair connected (1 of 1 failed: ICE_FAILED x1); for example: libdatachannel: connection failed (...)',
    );
  });

  it('connect: every pair failed -> exit 1 with SERVER_UNREACHABLE and the document (no gates given)', async () => {
    const url = `ws://127.0.0.1:${await freePort()}/ws`;
    const r = await runCli(['bench', 'connect', '--url', url, '--pairs', '2', '--json'], 60_000);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]!) as BenchReport<ConnectRun>;
    expect(doc).toMatchObject({ passed: false, gates: [], error: { code: 'SERVER_UNREACHABLE' } });
    expect(doc.results).toMatchObject({ connected: 0, failed: 2, errors: { SERVER_UNREACHABLE: 2 } });
    // One failure's own message follows, so the user sees what the engine saw.
    expect(r.stderr).toMatch(/SERVER_UNREACHABLE: nothing measured: no pair connected \(2 of 2 failed: SERVER_UNREACHABLE x2\); for example: cannot connect to ws:\/\/127\.0\.0\.1:\d+\/ws/);
    expect(doc.results.perPair[0]).toMatchObject({ ok: false, error: 'SERVER_UNREACHABLE', detail: expect.stringMatching(/^cannot connect to/) as unknown });
  });

  it('signaling: every client failed to join -> exit 1 in human mode too, before any gate (not 3)', async () => {
    const url = `ws://127.0.0.1:${await freePort()}/ws`;
    const r = await runCli(['bench', 'signaling', '--url', url, '--clients', '4', '--duration', '0.5', '--max-failures', '100'], 60_000);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/sigctl bench signaling/);
    expect(r.stderr).toMatch(/error SERVER_UNREACHABLE: nothing measured: no client joined \(4 of 4 failed: SERVER_UNREACHABLE x4\)/);
    const json = await runCli(['bench', 'signaling', '--url', url, '--clients', '4', '--duration', '0.5', '--json'], 60_000);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout) as BenchReport<SignalingResult>;
    expect(doc.error?.code).toBe('SERVER_UNREACHABLE');
    expect(doc.results.runs[0]!.join).toMatchObject({ ok: 0, failed: 4 });
  });
});
