/**
 * `sigctl bench --url A --url B`: load spread over two `sigctl serve --redis` nodes on one real
 * redis-server, so that the members of every room sit on different nodes and every relay crosses
 * the shared store. Delivery must stay exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runConnect } from '../../src/bench/peers.js';
import type { BenchReport } from '../../src/bench/report.js';
import { runSignaling, type SignalingResult } from '../../src/bench/signaling.js';
import { urlFor, urlList } from '../../src/bench/spread.js';
import { runCli } from '../helpers/bench-cli.js';
import { startBenchNodes, type BenchNodes } from '../helpers/bench-nodes.js';
import { requires } from '../helpers/requires.js';
import { signalingOptions } from '../helpers/signaling-options.js';

describe('bench against two nodes of one deployment', requires('redis-server'), () => {
  let nodes: BenchNodes | undefined;
  afterEach(async () => {
    await nodes?.close();
    nodes = undefined;
  });

  it('spreads consecutive clients round-robin, so a room of K >= 2 spans nodes', () => {
    expect(urlList(undefined)).toEqual([]);
    expect(urlList('ws://a/ws')).toEqual(['ws://a/ws']);
    const urls = ['ws://a/ws', 'ws://b/ws'];
    expect([0, 1, 2, 3].map((i) => urlFor(i, urls))).toEqual(['ws://a/ws', 'ws://b/ws', 'ws://a/ws', 'ws://b/ws']);
    expect(() => urlFor(0, [])).toThrow(RangeError);
  });

  it('signaling: rooms of 3 span both nodes and delivered/expected is exactly 1', async () => {
    nodes = await startBenchNodes(2);
    const result = await runSignaling(signalingOptions({ url: nodes.urls, clients: 21, roomSize: 3, joinTimeoutMs: 5_000 }));
    const run = result.runs[0]!;
    expect(run).toMatchObject({ target: 'remote', url: nodes.urls[0], urls: nodes.urls });
    expect(run.join).toMatchObject({ ok: 21, failed: 0, rooms: 7, spanningRooms: 7 });
    expect(run.join.byUrl).toEqual([
      { url: nodes.urls[0], joined: 11 },
      { url: nodes.urls[1], joined: 10 },
    ]);
    expect(run.steady.sent).toBeGreaterThan(0);
    expect(run.steady.expected).toBe(run.steady.sent * 2);
    expect(run.steady).toMatchObject({ deliveredRatio: 1, duplicates: 0, lost: 0, errors: {} });
  });

  it('signaling --spread rooms: each room on one node, rooms dealt round-robin, none spanning', async () => {
    nodes = await startBenchNodes(2);
    const result = await runSignaling(signalingOptions({ url: nodes.urls, spread: 'rooms', clients: 21, roomSize: 3, joinTimeoutMs: 5_000 }));
    const run = result.runs[0]!;
    // Rooms 0, 2, 4, 6 on the first node, 1, 3, 5 on the second.
    expect(run.join).toMatchObject({ ok: 21, failed: 0, rooms: 7, spanningRooms: 0 });
    expect(run.join.byUrl).toEqual([
      { url: nodes.urls[0], joined: 12 },
      { url: nodes.urls[1], joined: 9 },
    ]);
    expect(run.steady.expected).toBe(run.steady.sent * 2);
    expect(run.steady).toMatchObject({ deliveredRatio: 1, duplicates: 0, lost: 0, errors: {} });
  });

  it('the CLI takes --url twice and lists both targets in the report', async () => {
    nodes = await startBenchNodes(2);
    const r = await runCli(['bench', 'signaling', '--url', nodes.urls[0]!, '--url', nodes.urls[1]!, '--clients', '20', '--rate', '5', '--duration', '1', '--max-failures', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as BenchReport<SignalingResult>;
    expect(doc.parameters).toMatchObject({ url: nodes.urls[0], urls: nodes.urls, clients: 20, roomSize: 2 });
    const run = doc.results.runs[0]!;
    expect(run.urls).toEqual(nodes.urls);
    expect(run.join).toMatchObject({ ok: 20, failed: 0, rooms: 10, spanningRooms: 10 });
    expect(run.steady).toMatchObject({ deliveredRatio: 1, duplicates: 0, lost: 0 });
    expect(doc.passed).toBe(true);
  });

  it('connect: each pair has one peer on each node and every pair connects', async () => {
    nodes = await startBenchNodes(2);
    const run = await runConnect({ url: nodes.urls, pairs: 2, workers: 1, pairTimeoutMs: 20_000, bindAddress: '127.0.0.1', env: {}, signal: AbortSignal.timeout(60_000) });
    expect(run).toMatchObject({ target: 'remote', urls: nodes.urls, connected: 2, failed: 0 });
    for (const p of run.perPair) expect(p.urls).toEqual(nodes.urls);
  });
});
