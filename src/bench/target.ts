/**
 * Local servers under test, run as child processes so that their CPU time and RSS can be read from
 * /proc without counting the load generator: `sigctl serve --port 0` (the product) and
 * `sigctl bench floor --port 0` (the floor relay). Both are started from this package's own
 * bin/sigctl, so `sigctl bench` works from an installed package as well as from a checkout.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SigctlError } from '../protocol/errors.js';
import { sampleProcess, type ProcSample } from './proc.js';
import type { MemoryProbeRequest, MemoryReading } from './server-probe.js';
import { compiledWorkerUrl } from './worker-url.js';

/** Which server a local target runs. */
export type TargetKind = 'sigctl' | 'floor';

export interface LocalTargetOptions {
  kind: TargetKind;
  /** Environment for the child; SIGCTL_* variables of the caller are dropped (the bench sets its own). */
  env: Readonly<Record<string, string | undefined>>;
  /** Config keys for `serve` as SIGCTL_* variables, e.g. raised limits for load. */
  serverEnv?: Readonly<Record<string, string>>;
  /** How long the child may take to print its URL. */
  startTimeoutMs?: number;
  signal?: AbortSignal;
  /** Start the child with the memory probe (server-probe.ts), so that `memory()` works. */
  memoryProbe?: boolean;
  /** `sigctl` only: a compat protocol to switch on (`serve --compat <name>`). */
  compat?: 'stomp' | 'raw' | undefined;
  /** The sigctl launcher; defaults to this package's bin/sigctl. */
  bin?: string;
}

/** A running local server. */
export interface LocalTarget {
  kind: TargetKind;
  url: string;
  pid: number;
  /** CPU and RSS of the child now; undefined once it is gone or without /proc. */
  sample(): ProcSample | undefined;
  /** Memory after a full GC with the young generation resident (server-probe.ts; needs `memoryProbe`); rejects after 10 s. */
  memory(): Promise<MemoryReading>;
  /** SIGTERM, then SIGKILL after 3 s; idempotent. */
  close(): Promise<void>;
  /** SIGKILL at once (for a second Ctrl-C). */
  kill(): void;
}

/** This package's bin/sigctl (src/bench and dist/bench are both two levels below the root). */
export function sigctlBin(): string {
  return fileURLToPath(new URL('../../bin/sigctl', import.meta.url));
}

/**
 * V8 flags for both local servers, so that their memory is comparable: a fixed young generation
 * (16 MiB semi-spaces, the most V8 grows them to by default on 64-bit) instead of one that grows
 * when it happens to, `gc()` for the probe, and the probe itself. See server-probe.ts.
 */
export const PROBE_SEMI_SPACE_MB = 16;
function probeExecArgv(): string[] {
  const preload = compiledWorkerUrl('server-probe-preload').href;
  return ['--expose-gc', `--min-semi-space-size=${PROBE_SEMI_SPACE_MB}`, `--max-semi-space-size=${PROBE_SEMI_SPACE_MB}`, '--import', preload];
}

const URL_PATTERN = /wss?:\/\/[^\s"'`,)]+/;

function childEnv(base: Readonly<Record<string, string | undefined>>, extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !k.startsWith('SIGCTL_')) env[k] = v;
  // A bench must not inherit colour or TTY behaviour from the caller's terminal.
  env.NO_COLOR = '1';
  return { ...env, ...extra };
}

/** Starts a local server child and resolves once it printed its ws:// URL. */
export async function startLocalTarget(options: LocalTargetOptions): Promise<LocalTarget> {
  const bin = options.bin ?? sigctlBin();
  if (!existsSync(bin)) throw new SigctlError('LISTEN_FAILED', `cannot find ${bin} to start a local server`);
  const compat = options.compat === undefined ? [] : ['--compat', options.compat];
  const args = options.kind === 'sigctl' ? ['serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', ...compat] : ['bench', 'floor', '--port', '0'];
  // cwd is a neutral directory so that no .sigctlrc of the caller's project changes the server.
  const child: ChildProcess = fork(bin, args, {
    execArgv: options.memoryProbe === true ? probeExecArgv() : [],
    cwd: tmpdir(),
    env: childEnv(options.env, options.kind === 'sigctl' ? (options.serverEnv ?? {}) : {}),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const pid = child.pid;
  let output = '';
  let exited = child.exitCode !== null;
  const exitedPromise = new Promise<void>((resolve) => {
    if (exited) resolve();
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  child.on('error', () => undefined);

  const kill = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(kill, 3_000);
      await exitedPromise;
      clearTimeout(timer);
      child.stdout?.destroy();
      child.stderr?.destroy();
    })();
    return closing;
  };

  try {
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output = (output + chunk.toString('utf8')).slice(-8_192);
        const m = URL_PATTERN.exec(output);
        if (m !== null) {
          cleanup();
          resolve(m[0]);
        }
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new SigctlError('LISTEN_FAILED', `${options.kind} server exited (${code ?? 'signal'}) before listening: ${output.trim().slice(-500)}`));
      };
      const onAbort = (): void => {
        cleanup();
        reject(new SigctlError('ABORTED', 'interrupted while starting the local server'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new SigctlError('TIMEOUT', `${options.kind} server did not print its URL within ${options.startTimeoutMs ?? 15_000} ms: ${output.trim().slice(-500)}`));
      }, options.startTimeoutMs ?? 15_000);
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
        options.signal?.removeEventListener('abort', onAbort);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
      if (options.signal?.aborted === true) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    // Keep draining the pipes so a chatty child never blocks on a full pipe.
    child.stdout?.resume();
    child.stderr?.resume();
    if (pid === undefined) throw new SigctlError('LISTEN_FAILED', 'no pid for the local server');
    let nextId = 0;
    const memory = (): Promise<MemoryReading> =>
      new Promise<MemoryReading>((resolve, reject) => {
        const id = ++nextId;
        const done = (err?: Error, reading?: MemoryReading): void => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
          if (reading !== undefined) resolve(reading);
          else reject(err ?? new SigctlError('SERVER_UNREACHABLE', 'no memory reading'));
        };
        const onMessage = (msg: unknown): void => {
          const m = msg as Partial<MemoryReading> | null;
          if (m?.type === 'sigctl-bench-memory' && m.id === id) done(undefined, m as MemoryReading);
        };
        const onExit = (): void => done(new SigctlError('SERVER_UNREACHABLE', `${options.kind} server exited before its memory reading`));
        const timer = setTimeout(() => done(new SigctlError('TIMEOUT', `${options.kind} server sent no memory reading within 10 s`)), 10_000);
        child.on('message', onMessage);
        child.once('exit', onExit);
        const request: MemoryProbeRequest = { type: 'sigctl-bench-memory', id };
        if (options.memoryProbe !== true) done(new SigctlError('USAGE', 'this local server was started without the memory probe'));
        else if (exited || !child.connected) done(new SigctlError('SERVER_UNREACHABLE', `${options.kind} server is gone`));
        else child.send(request, (err) => (err === null ? undefined : done(err)));
      });
    return { kind: options.kind, url, pid, sample: () => sampleProcess(pid), memory, close, kill };
  } catch (err) {
    await close();
    throw err;
  }
}
