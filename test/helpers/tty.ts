/**
 * A real terminal for tests, driven through tmux: a command runs in a pane of a private tmux
 * server (its own socket), keys go in with send-keys, the screen comes back with capture-pane.
 * Suites using it declare requires('tmux'). The command's exit code is printed into the pane
 * after it ends (`[exit N]`), and the pane stays open so the last screen can still be read.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mustFind } from './requires.js';
import { until } from './within.js';

function tmux(socket: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(mustFind('tmux'), ['-L', socket, '-f', '/dev/null', ...args], { env, timeout: 10_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`tmux ${args[0] ?? ''}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface TtyOptions {
  columns?: number;
  rows?: number;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /**
   * Lines of scrollback screen() includes, wrapped lines joined (a long log line reads as one);
   * default 0: the visible screen as drawn.
   */
  history?: number;
}

/** One command on a terminal. Always close() it (afterEach). */
export class Tty {
  private closed = false;

  private constructor(
    private readonly socket: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly history: number,
  ) {}

  /** Starts `argv` (a program and its arguments) on a fresh terminal. */
  static async start(argv: readonly string[], options: TtyOptions = {}): Promise<Tty> {
    const socket = `sigctl-test-${process.pid}-${randomBytes(4).toString('hex')}`;
    // A person's terminal: no CI variable (with CI set, ora draws no spinner and the status line
    // a user sees would be missing from the screen).
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', NO_COLOR: '1', FORCE_COLOR: undefined, TMUX: undefined, CI: undefined, ...options.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    // The shell traps (not ignores: the command must get default dispositions) INT and QUIT,
    // so a Ctrl-C meant for the command does not end the shell before it prints the exit code.
    const script = `trap : INT QUIT; cd ${quote(options.cwd ?? process.cwd())} && ${argv.map(quote).join(' ')}; echo "[exit $?]"; exec sleep 600`;
    const tty = new Tty(socket, env, options.history ?? 0);
    await tmux(socket, ['new-session', '-d', '-s', 'main', '-x', String(options.columns ?? 120), '-y', String(options.rows ?? 30), 'sh', '-c', script], env);
    return tty;
  }

  /** Sends tmux key names (`C-c`, `C-d`, `Enter`, `Left`, `BSpace`) or, with `literal`, text. */
  async keys(keys: readonly string[] | string, literal = false): Promise<void> {
    const list = typeof keys === 'string' ? [keys] : keys;
    await tmux(this.socket, ['send-keys', '-t', 'main', ...(literal ? ['-l'] : []), ...list], this.env);
  }

  /** Types `text` literally. */
  type(text: string): Promise<void> {
    return this.keys([text], true);
  }

  /** The visible screen, trailing blank lines dropped. */
  async screen(): Promise<string> {
    const scrollback = this.history > 0 ? ['-J', '-S', String(-this.history)] : [];
    const out = await tmux(this.socket, ['capture-pane', '-p', ...scrollback, '-t', 'main'], this.env);
    return out.replace(/\s+$/, '');
  }

  /** Waits until the screen matches `test`; returns the screen. Bounded by `ms`. */
  async waitFor(test: RegExp, ms: number, what = String(test)): Promise<string> {
    let last = '';
    // A terminal announces nothing: its screen is re-read until it shows `test`.
    await until(async () => test.test((last = await this.screen())), ms, what, 100).catch((err: Error) => {
      throw new Error(`terminal: ${err.message}; screen:\n${last}`);
    });
    return last;
  }

  /** Waits for the command to end; returns its exit code. */
  async exitCode(ms: number): Promise<number> {
    const screen = await this.waitFor(/\[exit \d+\]/, ms, 'the command to exit');
    return Number(/\[exit (\d+)\]/.exec(screen)![1]);
  }

  /** Kills the tmux server (and the command in it). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await tmux(this.socket, ['kill-server'], this.env).catch(() => undefined);
  }
}
