/**
 * Maps how a command ended to the process exit code: 0 ok, 1 runtime failure, 2 usage or config
 * error, 3 a bench gate missed, 130/143 when interrupted by SIGINT/SIGTERM.
 */
import { isSigctlError, type ErrorCode } from '../protocol/errors.js';

export const ExitCode = {
  OK: 0,
  RUNTIME: 1,
  USAGE: 2,
  GATE: 3,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

/** The exit code for an error that ended a command. */
export function exitCodeFor(err: unknown, interruptedBy?: string): number {
  if (interruptedBy === 'SIGINT') return ExitCode.SIGINT;
  if (interruptedBy === 'SIGTERM') return ExitCode.SIGTERM;
  // stdout's reader closed the pipe (e.g. `| head`): the user has what they wanted.
  if (interruptedBy === 'EPIPE') return ExitCode.OK;
  // stdout failed otherwise (reported as it happened).
  if (interruptedBy === 'STDOUT') return ExitCode.RUNTIME;
  if (isSigctlError(err)) return err.exitCode;
  return ExitCode.RUNTIME;
}

/** The catalogue code for an error, INTERNAL for anything unexpected. */
export function codeFor(err: unknown): ErrorCode {
  return isSigctlError(err) ? err.code : 'INTERNAL';
}
