/**
 * A real terminal for tests: a command in a tmux pane on a private tmux server (its own socket, so
 * a developer's tmux is never touched), its screen read with capture-pane and keys sent with
 * send-keys. Every wait is bounded.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
let counter = 0;

/** A command running on a terminal. */
export interface Pane {
  /** The screen and scrollback as plain text (no escape sequences). */
  screen(): Promise<string>;
  /** tmux key names (`C-c`, `Enter`) or literal text with `literal`. */
  keys(keys: readonly string[], literal?: boolean): Promise<void>;
  /** Resolves with the screen once `pattern` is on it; rejects after `ms`. */
  waitFor(pattern: RegExp, ms: number, what: string): Promise<string>;
  /** Kills the pane's tmux server (idempotent). */
  close(): Promise<void>;
}

/** True when tmux is installed. */
export async function hasTmux(): Promise<boolean> {
  try {
    await run('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `argv` (a shell command line) in a new 160x50 pane; after it ends the pane shows
 * `EXIT=<code>` and stays open for the test to read.
 */
export async function startPane(command: string, env: Record<string, string> = {}, cwd = process.cwd()): Promise<Pane> {
  const socket = `sigctl-test-${process.pid}-${++counter}`;
  const tmux = (args: readonly string[]): Promise<{ stdout: string }> => run('tmux', ['-L', socket, ...args], { cwd });
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  await tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'test', '-x', '160', '-y', '50', '-c', cwd, ...envArgs, `${command}; echo "EXIT=$?"; sleep 600`]);
  let closed = false;
  const screen = async (): Promise<string> => (await tmux(['capture-pane', '-p', '-J', '-S', '-200', '-t', 'test'])).stdout;
  return {
    screen,
    keys: async (keys, literal = false) => {
      await tmux(['send-keys', '-t', 'test', ...(literal ? ['-l'] : []), ...keys]);
    },
    waitFor: (pattern, ms, what) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + ms;
        const poll = (): void => {
          screen()
            .then((text) => {
              if (pattern.test(text)) resolve(text);
              else if (Date.now() > deadline) reject(new Error(`timed out after ${ms} ms waiting for ${what}; screen:\n${text}`));
              else setTimeout(poll, 50);
            })
            .catch(reject);
        };
        poll();
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      await tmux(['kill-server']).catch(() => undefined);
    },
  };
}
