/**
 * The types of the signaling scenario (options, runs, the comparison with the floor), apart from
 * the code that runs it, so that signaling.ts and series.ts both import them without importing
 * each other.
 */
import type { BenchProtocol } from './signaling-messages.js';
import type { CpuPinning } from './pinning.js';
import type { ProgressFn } from './progress.js';
import type { Spread, TargetUrls } from './spread.js';
import type { Summary } from './stats.js';
import type { TargetKind } from './target.js';
import type { SignalingWindow } from './windows.js';

export interface SignalingOptions {
  /**
   * A running deployment, or several nodes of one (clients spread round-robin, so rooms span
   * nodes); absent: a local `sigctl serve` child on 127.0.0.1 port 0.
   */
  url?: TargetUrls | undefined;
  /** Bearer token for `url` (a deployment with auth). */
  token?: string | undefined;
  /**
   * What the clients speak (default v1). A local server runs with the matching `--compat`; the
   * floor's clients always speak v1 (the floor relays frames verbatim, whatever they carry).
   */
  protocol?: BenchProtocol | undefined;
  clients: number;
  roomSize: number;
  /** Over several URLs: each room's members on different nodes (default) or whole rooms per node (spread.ts). */
  spread?: Spread | undefined;
  /** Signals per second per client. */
  rate: number;
  durationS: number;
  ramp: boolean;
  /** p99 relay latency above which a ramp step is not sustained. */
  rampBoundMs: number;
  rampFactor?: number;
  rampMaxSteps?: number;
  /** Bisections between the last sustained ramp step and the first missed one (default 2). */
  rampRefineSteps?: number;
  /** Also run the floor relay with as many clients, the steady windows interleaved (local targets only). */
  vsFloor: boolean;
  /** Load worker threads; default: one per core the load generator may use, at most one per room. */
  workers?: number;
  /** Local targets: pin the server(s) and the load generator to different CPUs (Linux, taskset; default true). */
  pinCpus?: boolean;
  joinTimeoutMs?: number;
  /** Environment for local server children. */
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
  /** Progress text; `transient` updates (a countdown) are for a spinner only, not for log lines. */
  onProgress?: ProgressFn;
  /** Called with every started child/pool so a second Ctrl-C can kill it at once. */
  onResource?: (kill: () => void) => void;
}

export interface SignalingRun {
  target: TargetKind | 'remote';
  /** What this run's clients spoke (the floor's always v1). */
  protocol: BenchProtocol;
  /** The first (or only) target URL. */
  url: string;
  /** Every target URL; clients were spread over them round-robin. */
  urls: string[];
  /** Load worker threads used. */
  workers: number;
  join: {
    ok: number;
    failed: number;
    errors: Record<string, number>;
    latencyMs: Summary;
    /** Joined clients per target URL. */
    byUrl: Array<{ url: string; joined: number }>;
    rooms: number;
    /** Rooms whose members sit on more than one target (cross-node rooms). */
    spanningRooms: number;
  };
  steady: SignalingWindow;
  /**
   * Local targets: memory in KiB before the clients connected and once all had joined, each read
   * after a full GC with the young generation resident and fixed in size (server-probe.ts).
   * heap = V8 heap in use + external memory of JS objects.
   */
  server?: {
    pid: number;
    rssBaselineKiB: number;
    rssJoinedKiB: number;
    rssPerConnectionKiB: number;
    heapBaselineKiB: number;
    heapJoinedKiB: number;
    heapPerConnectionKiB: number;
    newSpaceKiB: number;
  };
  ramp?: {
    boundMs: number;
    factor: number;
    steps: SignalingWindow[];
    maxSustainedRate: number | null;
    /** Target rate of the first x-factor step not sustained; null when the step limit was reached (maxSustainedRate is then a lower bound). */
    firstMissedRate: number | null;
    /** Target rate at which the load generator became the limit and the ramp stopped (see ramp-plan.ts); null when it never did. */
    generatorBoundRate: number | null;
  };
}

export interface SignalingComparison {
  /**
   * sigctl / floor server CPU per relayed message: the median of the per-round ratios when the
   * steady window was interleaved in rounds, else the ratio of the two windows.
   */
  cpuPerMessageRatio: number | null;
  /** The ratio of the two steady windows' totals. */
  cpuPerMessageRatioTotal: number | null;
  /** sigctl / floor for each interleaved round. */
  cpuRatioByRound?: number[];
  rssPerConnectionRatio: number | null;
  /** Informational: the same for the JS heap alone (in use + external). */
  heapPerConnectionRatio: number | null;
  /** sigctl / floor highest sustained ramp rate; null when a ramp stopped at the load generator's limit. */
  rampMaxRatio: number | null;
  /** Why a verdict was refused: the windows it would rest on were generator-bound (windows.ts). */
  noVerdict?: { cpu?: string; ramp?: string };
  /** The CPU goal the `cpu` verdict was drawn against: 1.2x for v1 (issue 4), 1.5x for the compat protocols (issue 15). */
  cpuGoal: number;
  /** The goals of issue 4: CPU (cpuGoal) and RSS <= 1.2x the floor, delivered/sent exactly 1, ramp >= 0.8x. */
  goals: { cpu: boolean | null; memory: boolean | null; delivery: boolean; ramp: boolean | null };
}

export interface SignalingResult {
  runs: SignalingRun[];
  comparison?: SignalingComparison;
  /** Local targets: whether the server(s) and the load generator ran on separate CPUs. */
  pinning?: CpuPinning;
}
