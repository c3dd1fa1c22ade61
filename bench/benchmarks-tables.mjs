/**
 * Tables for BENCHMARKS.md computed from `sigctl bench` JSON documents (src/bench/report.ts).
 * Pure functions: documents in, markdown out. A missing run or figure prints as "n/a" rather than
 * failing the whole file.
 */

/** A number with at most `digits` decimals (trailing zeros dropped), or n/a. */
export function n(x, digits = 2) {
  return typeof x === 'number' && Number.isFinite(x) ? String(Number(x.toFixed(digits))) : 'n/a';
}

/** Fixed decimals, or n/a. */
export function f(x, digits = 2) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

const int = (x) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const runOf = (doc, target) => doc?.results?.runs?.find((r) => r.target === target);
const verdict = (ok) => (ok === true ? 'met' : ok === false ? 'missed' : 'n/a');

/** Goals of issue 4, sigctl / floor from the same `--vs-floor` run. `docs`: [name, doc][]. */
export function goalsTable(docs) {
  const rows = docs.map(([name, doc]) => {
    const s = runOf(doc, 'sigctl');
    const fl = runOf(doc, 'floor');
    const c = doc?.results?.comparison;
    const rounds = c?.cpuRatioByRound === undefined ? '' : ` (median of ${c.cpuRatioByRound.length} rounds: ${c.cpuRatioByRound.map((v) => f(v, 2)).join(', ')}; totals ${f(c?.cpuPerMessageRatioTotal, 3)}x)`;
    const cpu = `${n(s?.steady?.serverCpuUsPerMessage)} / ${n(fl?.steady?.serverCpuUsPerMessage)} µs, **${f(c?.cpuPerMessageRatio, 3)}x**${rounds} ${verdict(c?.goals?.cpu)}`;
    const window = `${n(s?.steady?.serverCpuMs, 0)} / ${n(fl?.steady?.serverCpuMs, 0)}`;
    const rssRatio = c?.rssPerConnectionRatio === null && s?.server !== undefined ? 'n/a (RSS grew < 4 MiB)' : `**${f(c?.rssPerConnectionRatio, 3)}x**`;
    const rss = `${n(s?.server?.rssPerConnectionKiB)} / ${n(fl?.server?.rssPerConnectionKiB)} KiB = ${rssRatio} ${verdict(c?.goals?.memory)}`;
    const heap = `${n(s?.server?.heapPerConnectionKiB)} / ${n(fl?.server?.heapPerConnectionKiB)} KiB = ${f(c?.heapPerConnectionRatio, 3)}x`;
    const del = (r) => `${f(r?.steady?.deliveredRatio, 6)} (dup ${n(r?.steady?.duplicates, 0)}, lost ${n(r?.steady?.lost, 0)})`;
    const ramp =
      s?.ramp === undefined
        ? '-'
        : `${int(s.ramp.maxSustainedRate)} / ${int(fl?.ramp?.maxSustainedRate)} msg/s = **${f(c?.rampMaxRatio, 3)}x** ${verdict(c?.goals?.ramp)}${c?.noVerdict?.ramp === undefined ? '' : ` (no verdict: ${c.noVerdict.ramp})`}`;
    return [name, cpu, window, rss, heap, `${del(s)} / ${del(fl)} ${verdict(c?.goals?.delivery)}`, ramp];
  });
  return table(['run', 'CPU per relayed message (goal <= 1.2x)', 'CPU ms in the window', 'RSS per joined connection (goal <= 1.2x)', 'JS heap per joined connection (information)', 'delivered/expected (goal exactly 1)', 'ramp maximum (goal >= 0.8x)'], rows);
}

/** How many of the runs met each goal of issue 4. */
export function goalsTally(docs) {
  const goals = [
    ['cpu', 'CPU per relayed message'],
    ['memory', 'RSS per joined connection'],
    ['delivery', 'delivered/expected exactly 1'],
    ['ramp', 'ramp maximum'],
  ];
  return goals
    .map(([key, label]) => {
      const with_ = docs.filter(([, d]) => typeof d?.results?.comparison?.goals?.[key] === 'boolean');
      const met = with_.filter(([, d]) => d.results.comparison.goals[key]).length;
      return `${label}: met in ${met} of ${with_.length} run${with_.length === 1 ? '' : 's'}`;
    })
    .join('; ');
}

const phaseKeys = [
  ['signaling', 'signaling'],
  ['offerAnswer', 'offer/answer'],
  ['ice', 'ICE'],
  ['dtls', 'DTLS'],
  ['channel', 'channel open'],
];
const phaseOrder = ['joined', 'answerReceived', 'iceConnected', 'dtlsConnected', 'channelOpen'];

/** The slowest pair of a connect run and the phase that took most of its time. */
export function slowestPair(doc) {
  const pairs = (doc?.results?.perPair ?? []).filter((p) => p.ok && p.at && typeof p.at.channelOpen === 'number');
  if (pairs.length === 0) return undefined;
  const slowest = pairs.reduce((a, b) => (b.at.channelOpen > a.at.channelOpen ? b : a));
  let prev = 0;
  let worst = { label: '', ms: -1 };
  phaseOrder.forEach((key, i) => {
    const t = slowest.at[key];
    if (typeof t !== 'number') return;
    if (t - prev > worst.ms) worst = { label: phaseKeys[i][1], ms: t - prev };
    prev = t;
  });
  return { pair: slowest.pair, totalMs: slowest.at.channelOpen, phase: worst.label, phaseMs: worst.ms };
}

/** Connect runs: pairs, failures, p50 per phase and total p50/p95/max. */
export function connectTable(docs) {
  const rows = docs.map(([name, doc]) => {
    const r = doc?.results;
    const ph = r?.phasesMs ?? {};
    const slow = slowestPair(doc);
    return [
      name,
      `${r?.engine ?? doc?.parameters?.engine ?? 'werift'}`,
      `${n(r?.connected, 0)}/${n(r?.pairs, 0)}`,
      ...phaseKeys.map(([k]) => n(ph[k]?.p50)),
      `${n(ph.total?.p50)} / ${n(ph.total?.p95)} / ${n(ph.total?.max)}`,
      slow ? `#${slow.pair}: ${n(slow.totalMs, 0)} ms, ${n(slow.phaseMs, 0)} in ${slow.phase}` : 'n/a',
    ];
  });
  return table(['run', 'engine', 'connected', ...phaseKeys.map(([, l]) => `${l} p50 ms`), 'total p50 / p95 / max ms', 'slowest pair (its longest phase)'], rows);
}

/** Throughput runs: engine, size, ordering, MB/s, RTT, join total. */
export function throughputTable(docs) {
  const rows = docs.map(([name, doc]) => {
    const r = doc?.results;
    const t = r?.transfer;
    const engine = r?.engine ?? t?.engine ?? 'werift';
    const version = r?.engineVersion ?? (engine === 'werift' ? doc?.environment?.werift : undefined);
    return [
      name,
      `${engine}${version ? ` ${version}` : ''}`,
      n(t?.messageSize ?? doc?.parameters?.messageSize, 0),
      t?.ordered === false || doc?.parameters?.ordered === false ? 'unordered' : 'ordered',
      `**${f(t?.aggregateMBps, 3)}**`,
      `${f(t?.rttMs?.p50, 3)} / ${f(t?.rttMs?.p99, 3)}`,
      n(r?.phasesMs?.total?.p50),
    ];
  });
  return table(['run', 'engine', 'message bytes', 'channel', 'MB/s', 'RTT p50 / p99 ms', 'join total ms'], rows);
}

/**
 * One node vs two: `cases` is [{ label, doc, cpu: { nodes: [{nodeId, ms}], redisMs } }].
 */
export function multinodeTable(cases) {
  const col = (fn) => cases.map((c) => fn(c.doc?.results?.runs?.[0], c));
  const sumNodes = (c) => c.cpu.nodes.reduce((a, x) => a + (x.ms ?? NaN), 0);
  const rows = [
    ['joined', ...col((r) => `${n(r?.join?.ok, 0)}${r?.join?.byUrl && r.join.byUrl.length > 1 ? ` (${r.join.byUrl.map((b) => b.joined).join(' + ')}); rooms spanning nodes ${r.join.spanningRooms}/${r.join.rooms}` : ''}`)],
    ['delivered/expected', ...col((r) => `${f(r?.steady?.deliveredRatio, 6)}, ${n(r?.steady?.duplicates, 0)} dup, ${n(r?.steady?.lost, 0)} lost`)],
    ['sent/s (target)', ...col((r) => `${n(r?.steady?.sendRate, 0)} (${n(r?.steady?.targetRate, 0)})`)],
    ['relay p50 / p95 / p99 / max ms', ...col((r) => ['p50', 'p95', 'p99', 'max'].map((k) => f(r?.steady?.relayLatencyMs?.[k])).join(' / '))],
    ['join p50 / p95 ms', ...col((r) => `${f(r?.join?.latencyMs?.p50)} / ${f(r?.join?.latencyMs?.p95)}`)],
    ['node CPU, whole bench run', ...col((_r, c) => (c.cpu.nodes.length > 1 ? `${c.cpu.nodes.map((x) => n(x.ms, 0)).join(' + ')} = ${n(sumNodes(c), 0)} ms` : `${n(sumNodes(c), 0)} ms`))],
    ['node CPU per delivered signal (whole run / delivered)', ...col((r, c) => `${n((sumNodes(c) * 1000) / (r?.steady?.delivered ?? NaN), 1)} µs`)],
    ['redis-server CPU, whole bench run', ...col((_r, c) => `${n(c.cpu.redisMs, 0)} ms`)],
  ];
  return table(['', ...cases.map((c) => c.label)], rows);
}

/** Ratio of the two-node case to the one-node case for node and Redis CPU (the cost of crossing nodes). */
export function multinodeRatios(cases) {
  const [one, two] = cases;
  const sum = (c) => c.cpu.nodes.reduce((a, x) => a + (x.ms ?? NaN), 0);
  return { nodeCpu: sum(two) / sum(one), redisCpu: two.cpu.redisMs / one.cpu.redisMs };
}

/** Where each target's ramp stopped: the first missed x1.5 step, the refinements after it, the generator's ELU there. */
export function rampNote(doc) {
  const parts = (doc?.results?.runs ?? [])
    .filter((r) => r.ramp !== undefined)
    .map((r) => {
      const steps = r.ramp.steps ?? [];
      const last = steps.at(-1);
      if (last === undefined) return `${r.target}: no steps`;
      if (r.ramp.generatorBoundRate !== null && r.ramp.generatorBoundRate !== undefined) {
        return `${r.target} sustained ${int(r.ramp.maxSustainedRate)}/s, then stopped at ${int(r.ramp.generatorBoundRate)}/s, where the load generator became the limit (worker ELU ${n(last.generatorElu)} > 0.8): a lower bound, no verdict`;
      }
      if (r.ramp.firstMissedRate === null || r.ramp.firstMissedRate === undefined) {
        return `${r.target} sustained ${int(r.ramp.maxSustainedRate)}/s and passed its last step (the bench's step limit, so this maximum is a lower bound; generator ELU ${n(last.generatorElu)})`;
      }
      const missed = steps.find((s) => s.refine !== true && s.sustained === false && Math.round(s.targetRate) === Math.round(r.ramp.firstMissedRate));
      // A refinement's outcome is its last window's: a retry (after a miss on latency alone) decides.
      const refined = steps
        .filter((s) => s.refine === true && s.retry !== true)
        .map((s) => {
          const final = steps.findLast((x) => x.refine === true && x.targetRate === s.targetRate);
          return `${int(s.targetRate)}/s ${final.sustained ? (final.retry ? 'sustained on retry' : 'sustained') : 'missed'}`;
        });
      return `${r.target} sustained ${int(r.ramp.maxSustainedRate)}/s: the ${int(r.ramp.firstMissedRate)}/s step missed (p99 ${n(missed?.relayLatencyMs?.p99)} ms, generator ELU ${n(missed?.generatorElu)})${refined.length === 0 ? '' : `, then ${refined.join(', ')}`}`;
    });
  if (parts.length === 0) return '';
  return `Ramp: ${parts.join('; ')}. A generator ELU near 1 means the shared 2 cores, not the server alone, set the limit.`;
}
