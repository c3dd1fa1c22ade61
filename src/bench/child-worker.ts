/**
 * A peer worker in a child process (`sigctl bench peer-worker`, hidden) with the same surface as a
 * worker thread, for engines whose native module cannot live in worker threads: node-datachannel
 * aborts the whole process (a V8 HandleScope fatal error) when a worker that loaded it is
 * terminated, or when a second worker loads it. A child process loads it once and exits whole.
 * Messages go over IPC with the `advanced` serialization, so Float64Arrays arrive intact.
 */
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { SigctlError } from '../protocol/errors.js';
import { sigctlBin } from './target.js';

/** What WorkerHandle needs of a worker: a thread (node:worker_threads Worker) or this. */
export interface WorkerLike {
  on(event: 'message', listener: (msg: unknown) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  postMessage(msg: unknown): void;
  terminate(): Promise<unknown>;
}

/** A child process running `sigctl bench peer-worker`; its first IPC message is the setup. */
export class ChildWorker extends EventEmitter implements WorkerLike {
  private readonly child: ChildProcess;
  private exited = false;
  private readonly exitedPromise: Promise<void>;

  constructor(setup: unknown, env: Readonly<Record<string, string | undefined>>, bin: string = sigctlBin()) {
    super();
    const childEnv: Record<string, string> = { NO_COLOR: '1' };
    for (const [k, v] of Object.entries(env)) if (v !== undefined && !k.startsWith('SIGCTL_')) childEnv[k] = v;
    this.child = fork(bin, ['bench', 'peer-worker'], { cwd: tmpdir(), env: childEnv, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
    this.exitedPromise = new Promise<void>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        this.emit('exit', code ?? (signal === null ? 1 : 128));
        resolve();
      });
    });
    this.child.on('message', (msg: unknown) => this.emit('message', msg));
    this.child.on('error', (err) => this.emit('error', new SigctlError('INTERNAL', `bench peer process: ${err.message}`, { cause: err })));
    this.postMessage(setup);
  }

  postMessage(msg: unknown): void {
    if (this.exited || !this.child.connected) return;
    // With a callback, a failed send does not throw or emit: a message to a process that is exiting
    // is lost, and the waiter's timeout or the exit reports it.
    this.child.send(msg as Serializable, () => undefined);
  }

  /** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone (idempotent). */
  async terminate(): Promise<void> {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!this.exited) this.child.kill('SIGKILL');
      }, 3_000);
      await this.exitedPromise;
      clearTimeout(timer);
    }
  }

  /** SIGKILL at once (second Ctrl-C). */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
