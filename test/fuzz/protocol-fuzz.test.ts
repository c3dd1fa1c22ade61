/**
 * Protocol fuzzer: `sigctl serve` as a real child process receives fuzzed client frames
 * (test/fuzz/frames.ts) one at a time on one connection, each followed by a marker `ping`, while a
 * bystander pair in another room relays a numbered signal per frame. Properties:
 *
 * - the process survives every frame (and still answers /healthz at the end);
 * - after every frame the connection either answers the marker (it is alive) or was closed with a
 *   documented close code (src/protocol/close-codes.ts); a frame the protocol must refuse whatever
 *   the state (not a JSON object with a known `type`, binary, nested past the limit) got that
 *   `error` (BAD_MESSAGE or UNKNOWN_TYPE) before the marker; every frame received is a valid ServerMessage with a catalogue code;
 * - the bystanders receive every signal, in order, none lost;
 * - afterwards the server's connection, room and member gauges return to their baseline, and its
 *   resident memory stays within a bound of its baseline.
 *
 * `npm test` runs FUZZ_RUNS (default 300) frames, from a fixed seed under CI=true; `npm run fuzz`
 * runs 20,000 from a fresh seed (FUZZ_RUNS overrides; FUZZ_SEED replays a run).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { isWireErrorCode } from '../../src/protocol/errors.js';
import { startDaemon, type Daemon } from '../helpers/server-daemon.js';
import { TestClient, within } from '../helpers/server-harness.js';
import { until } from '../helpers/within.js';
import { fuzzFrame, owedError, type FuzzFrame } from './frames.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
// Under CI the short run replays one fixed seed, so a CI result does not depend on luck; a run of
// its own (`npm run fuzz`, or FUZZ_RUNS set) draws a fresh seed, and FUZZ_SEED replays any run.
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : process.env.CI === 'true' && process.env.FUZZ_RUNS === undefined ? 20_261_204 : undefined;
/**
 * Closes the server may answer a frame with. 1011 is documented too, but it means a frame made the
 * server throw where nothing expected it (the last-resort guard): for the fuzzer that is a bug.
 */
const DOCUMENTED_CLOSES = new Set<number>(Object.values(CloseCode).filter((c) => c !== CloseCode.INTERNAL));
/** Growth of the server's resident memory tolerated after the run (allocator slack, JIT code). */
const RSS_SLACK_BYTES = 64 * 1024 * 1024;

function rssOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

async function gauges(httpUrl: string): Promise<Record<string, number>> {
  const text = await (await within(fetch(`${httpUrl}/metrics`), 3000, 'metrics')).text();
  const out: Record<string, number> = {};
  for (const name of ['sigctl_connections', 'sigctl_rooms', 'sigctl_members']) {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    out[name] = m === null ? -1 : Number(m[1]);
  }
  return out;
}

describe('protocol fuzzer', () => {
  const daemons: Daemon[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL').catch(() => undefined)));
  });

  it(`survives ${RUNS} fuzzed frames; every frame answered or closed as documented; bystanders unaffected; state back to baseline`, { timeout: Math.max(60_000, RUNS * 50) }, async () => {
    const d = startDaemon(['serve', '--port', '0', '--json', '--log-level', 'error'], {
      // The fuzzer sends as fast as the server answers: the rate limit is not what is under test.
      SIGCTL_LIMITS_MESSAGES_PER_SECOND: '1000000',
      SIGCTL_LIMITS_BURST: '1000000',
      SIGCTL_ROOMS_RESUME_GRACE_MS: '500',
    });
    daemons.push(d);
    const banner = JSON.parse(await d.firstLine) as { ws: string; listen: string };
    const httpUrl = banner.listen;
    const connect = async (): Promise<TestClient> => {
      const c = await TestClient.connect(banner.ws);
      clients.push(c);
      return c;
    };

    const a = await connect();
    a.send({ type: 'join', room: 'bystanders' });
    await a.next('joined');
    const b = await connect();
    b.send({ type: 'join', room: 'bystanders' });
    const bJoined = await b.next('joined');
    const seqs: number[] = [];
    b.ws.on('message', (raw: Buffer) => {
      const f = JSON.parse(raw.toString()) as { type: string; data?: { seq?: number } };
      if (f.type === 'signal' && typeof f.data?.seq === 'number') seqs.push(f.data.seq);
    });
    const baseline = await gauges(httpUrl);
    const pid = d.child.pid!;

    let fuzz = await connect();
    let marker = 0;
    let sent = 0;
    const closes: number[] = [];
    let rssBefore: number | undefined;

    const step = async (frame: FuzzFrame): Promise<void> => {
      if (fuzz.ws.readyState !== fuzz.ws.OPEN) fuzz = await connect();
      fuzz.frames.splice(0);
      const id = `m${++marker}`;
      fuzz.sendRaw(frame.data, frame.binary);
      fuzz.send({ type: 'ping', id });
      let alive = true;
      try {
        await fuzz.next('pong', 5000, (p) => p.re === id);
      } catch (err) {
        if (fuzz.ws.readyState !== fuzz.ws.CLOSED) throw err;
        alive = false;
      }
      if (alive) {
        const errors = fuzz.frames.filter((f) => f.type === 'error');
        for (const e of errors) expect(isWireErrorCode(e.code), e.code).toBe(true);
        const owed = owedError(frame);
        if (owed !== undefined) expect(errors.map((e) => e.code), `owed ${owed} for ${String(frame.data).slice(0, 200)}`).toContain(owed);
      } else {
        const { code } = await fuzz.waitClosed(3000);
        closes.push(code);
        expect(DOCUMENTED_CLOSES.has(code), `undocumented close ${code} after ${String(frame.data).slice(0, 200)}`).toBe(true);
      }
      expect(fuzz.invalid).toEqual([]);
      a.send({ type: 'signal', to: bJoined.self.id, data: { seq: sent++ } });
      expect(d.child.exitCode).toBeNull();
      if (marker === 20) rssBefore = rssOf(pid);
    };

    await fc.assert(fc.asyncProperty(fuzzFrame, step), { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) });

    expect(d.child.exitCode).toBeNull();
    expect((await within(fetch(`${httpUrl}/healthz`), 3000, 'healthz')).status).toBe(200);
    // Every bystander signal arrived, in order.
    await until(() => seqs.length >= sent, 10_000, `${sent} bystander signals (got ${seqs.length})`);
    expect(seqs).toEqual(Array.from({ length: sent }, (_, i) => i));
    expect(a.invalid).toEqual([]);
    expect(b.invalid).toEqual([]);

    // The fuzzing connection goes; the server's state returns to what it was before it came.
    await fuzz.close();
    await until(
      async () => {
        const now = await gauges(httpUrl);
        return now.sigctl_connections === baseline.sigctl_connections && now.sigctl_members === baseline.sigctl_members && now.sigctl_rooms === baseline.sigctl_rooms;
      },
      15_000,
      `gauges back to ${JSON.stringify(baseline)}`,
      100,
    );
    const rssAfter = rssOf(pid);
    if (rssBefore !== undefined && rssAfter !== undefined) {
      expect(rssAfter, `rss ${rssBefore} -> ${rssAfter} bytes`).toBeLessThan(rssBefore + RSS_SLACK_BYTES);
    }
  });
});
