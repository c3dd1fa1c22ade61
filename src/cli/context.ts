/**
 * The per-invocation context handed to every command: output, environment, an AbortSignal fired on
 * SIGINT/SIGTERM, and a way to ask for the exit code. Commands never touch `process` themselves.
 */
import type { Output } from './output.js';

export interface CliContext {
  out: Output;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Aborted on the first SIGINT/SIGTERM; `signal.reason` is 'SIGINT' or 'SIGTERM'. */
  signal: AbortSignal;
  /** Registers work to run on a second signal before the process exits at once. */
  onForceExit(fn: () => void): void;
  /**
   * Declares the first SIGINT/SIGTERM this command's normal way to end (`serve`: drain, then exit
   * with the command's own code, 0). Other commands end interrupted: 130/143.
   */
  signalEndsNormally(): void;
  /**
   * Delivers `signal` to this process as the terminal would: for a command that reads the
   * terminal raw (the chat), where Ctrl-C and Ctrl-\ arrive as keys.
   */
  interrupt(signal: 'SIGINT' | 'SIGQUIT'): void;
  /** Reads stdin lines (interactive chat); only available when stdin is a TTY or a pipe. */
  stdin: NodeJS.ReadableStream;
  stdinIsTTY: boolean;
}
