/**
 * Two sigctl nodes on a Redis master managed by Sentinel (test/helpers/redis-sentinel.ts: master,
 * replica, 3 sentinels). The master is SIGKILLed under a steady cross-node signal stream; the
 * nodes follow the failover: /readyz drops and returns, every signal is delivered or its sender
 * told (UNAVAILABLE, counted in /metrics), none duplicated or reordered, and after the failover
 * joins and relays work and capacity rules hold (docs/reliability.md).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../src/server/index.js';
import { RedisStore } from '../../src/store/redis.js';
import { joinRetrying as retryJoin, ledger, viewedPair } from '../helpers/fault-probe.js';
import { startRedisSentinel, type RedisSentinelSet } from '../helpers/redis-sentinel.js';
import { requires } from '../helpers/requires.js';
import { until as waitUntil } from '../helpers/within.js';
import { Resources, sleep, startTestServer, TestClient, within } from '../helpers/server-harness.js';

describe('Sentinel failover under relay load', requires('redis-server'), () => {
  let set: RedisSentinelSet;
  const res = new Resources();
  const stores: RedisStore[] = [];

  beforeAll(async () => {
    set = await startRedisSentinel();
  }, 60_000);
  afterAll(async () => {
    await set.stop();
  });
  afterEach(async () => {
    await res.closeAll();
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  const node = async (id: string): Promise<SignalingServer> => {
    const sentinels = set.sentinels.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) }));
    const store = new RedisStore({ target: { topology: 'sentinel', name: set.name, sentinels }, keyPrefix: 'fo:', nodeId: id, heartbeatMs: 500, timeoutMs: 500, connectTimeoutMs: 20_000 });
    await store.start();
    stores.push(store);
    return res.server(await startTestServer({ limits: { messagesPerSecond: 1000, burst: 1000 } }, { store }));
  };
  const status = async (s: SignalingServer): Promise<number> => (await fetch(`${s.httpUrl}/readyz`)).status;
  const until = (pred: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> => waitUntil(pred, ms, what, 25);
  /** Joins, retrying while the answer is UNAVAILABLE (the failover can take a while). */
  const joinRetrying = (c: TestClient, room: string, extra: Record<string, unknown> = {}): ReturnType<typeof retryJoin> => retryJoin(c, room, extra, { boundMs: 15_000, pauseMs: 100 });
  const unavailableCount = async (s: SignalingServer): Promise<number> => {
    const text = await (await fetch(`${s.httpUrl}/metrics`)).text();
    const m = /^sigctl_errors_total\{code="UNAVAILABLE"\} (\d+)/m.exec(text);
    return m === null ? 0 : Number(m[1]);
  };

  it('follows the failover: readyz drops and returns, no signal lost untold, joins, relays and capacity after', async () => {
    const n1 = await node('n1');
    const n2 = await node('n2');
    const { a, av, bv, jb } = await viewedPair(res, n1, n2, 'sig');

    // Watch readiness of both nodes through the failover.
    const seen = { n1: new Set<number>(), n2: new Set<number>() };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.n1.add(await status(n1));
        seen.n2.add(await status(n2));
        await sleep(50);
      }
    })();

    let sent = 0;
    // ~200 signals/s from a (node 1) to b (node 2), each with an id so a failure names it.
    const pump = setInterval(() => {
      a.send({ type: 'signal', to: jb.self.id, data: sent, id: sent });
      sent++;
    }, 5);
    try {
      await until(() => bv.signals.length >= 50, 'signals flowing');
      await within(set.killMaster(), 40_000, 'the sentinels to promote the replica');
      await until(async () => (await status(n1)) === 200 && (await status(n2)) === 200, 'both nodes ready after the failover', 30_000);
      const after = bv.signals.length;
      await until(() => bv.signals.length >= after + 50, 'signals flowing again');
    } finally {
      clearInterval(pump);
      watching = false;
      await watcher;
    }
    expect(seen.n1.has(503) || seen.n2.has(503), `readyz seen: n1 ${[...seen.n1].join()} n2 ${[...seen.n2].join()}`).toBe(true);

    const told = (): Set<unknown> => new Set(av.errors.map((e) => e.re));
    await until(() => ledger(sent, bv.signals, told()).lostUntold === 0, 'every signal accounted for', 5000).catch(() => undefined);
    const l = ledger(sent, bv.signals, told());
    expect(l, JSON.stringify(l)).toMatchObject({ lostUntold: 0, duplicated: 0, reordered: 0 });
    expect(av.errors.every((e) => e.code === 'UNAVAILABLE' || e.code === 'UNKNOWN_PEER'), JSON.stringify(av.errors.slice(0, 5))).toBe(true);
    // What was lost is counted where operators look: every UNAVAILABLE the sender got is in /metrics.
    const unavailable = av.errors.filter((e) => e.code === 'UNAVAILABLE').length;
    expect(await unavailableCount(n1)).toBeGreaterThanOrEqual(unavailable);

    // Membership survived (the replica had it): the full room refuses a third member on either node.
    const c = res.client(await TestClient.connect(n2.url));
    expect((await joinRetrying(c, 'sig')).code).toBe('ROOM_FULL');
    // New rooms form across the nodes and relay.
    const x = res.client(await TestClient.connect(n1.url));
    const y = res.client(await TestClient.connect(n2.url));
    expect((await joinRetrying(x, 'after')).type).toBe('joined');
    expect((await joinRetrying(y, 'after')).type).toBe('joined');
    await x.next('ready', 5000);
    y.send({ type: 'signal', data: 'hello after failover' });
    expect((await x.next('signal', 5000)).data).toBe('hello after failover');
  }, 120_000);
});
