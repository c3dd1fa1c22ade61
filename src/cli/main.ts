/**
 * The sigctl entry point: commander wiring, global flags, signal handling and exit codes.
 * This is the only module that touches `process`.
 */
import { Command, CommanderError, Option } from 'commander';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { SigctlError } from '../protocol/errors.js';
import type { RegisterCommand, Runner } from './command.js';
import { increase } from './command.js';
import type { CliContext } from './context.js';
import { codeFor, ExitCode, exitCodeFor } from './exit.js';
import { Output, type GlobalOptions } from './output.js';
import { watchPipeReaders } from './pipe-reader.js';
import { packageVersion } from './version.js';

/** Every command, in help order, with a loader for its registration module. */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<RegisterCommand>]> = [
  ['serve', async () => (await import('./commands/serve.js')).registerServe],
  ['peer', async () => (await import('./commands/peer.js')).registerPeer],
  ['bench', async () => (await import('./commands/bench.js')).registerBench],
  ['token', async () => (await import('./commands/token.js')).registerToken],
  ['config', async () => (await import('./commands/config.js')).registerConfig],
  ['rooms', async () => (await import('./commands/rooms.js')).registerRooms],
];
/** Global options that take a value (their value is not the command name). */
const GLOBAL_WITH_VALUE = new Set(['-c', '--config']);

/**
 * The command named in `argv` (process.argv), if it is one of ours: only that command is
 * registered then (`sigctl peer` does not load bench's schemas). Anything else (no command, a
 * typo, `help`) registers every command, so help and "did you mean" see them all.
 */
export function commandIn(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (GLOBAL_WITH_VALUE.has(arg)) {
      i += 1;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return COMMANDS.some(([name]) => name === arg) ? arg : undefined;
  }
  return undefined;
}

async function buildProgram(run: Runner, only: string | undefined): Promise<Command> {
  const program = new Command('sigctl')
    .description('WebRTC signaling in one tool: serve a signaling daemon, prove a deployment with a real peer, benchmark it in CI.')
    .version(`sigctl ${packageVersion()} (protocol v${PROTOCOL_VERSION})`, '-V, --version', 'print the package and protocol version')
    .option('-c, --config <file>', 'config file (default: search for .sigctlrc*, sigctl.config.*, package.json#sigctl)')
    .option('-v, --verbose', 'more output (repeatable)', increase)
    .option('-q, --quiet', 'only results and errors')
    .addOption(new Option('--no-color', 'disable colours (NO_COLOR is honoured too)'))
    .showHelpAfterError('(run with --help for usage)')
    // Subcommand help lists -c/--config, -v, -q too (copied to every command registered below).
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(str.replace(/^error: /, 'error USAGE: ')),
    });
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 3 bench threshold missed, 130/143 interrupted.
Docs: README.md, docs/protocol.md, docs/errors.md, docs/configuration.md`,
  );
  const chosen = COMMANDS.filter(([name]) => only === undefined || name === only);
  const registers = await Promise.all(chosen.map(([, load]) => load()));
  for (const register of registers) register(program, run);
  return program;
}

/** Runs the CLI with `argv` (as in process.argv) and exits the process when done. */
export async function main(argv: readonly string[]): Promise<void> {
  const controller = new AbortController();
  const forceExit: Array<() => void> = [];
  let interruptedBy: string | undefined;
  let exitCode: number = ExitCode.OK;
  let signalEndsNormally = false;

  const onSignal = (sig: 'SIGINT' | 'SIGTERM'): void => {
    if (interruptedBy !== undefined) {
      // Second signal: the user means it. Run last-gasp cleanups and leave at once.
      for (const fn of forceExit) {
        try {
          fn();
        } catch {
          // best effort
        }
      }
      process.exit(sig === 'SIGINT' ? ExitCode.SIGINT : ExitCode.SIGTERM);
    }
    interruptedBy = sig;
    controller.abort(sig);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // Whoever reads stdout went away (`sigctl peer --json | head -1`): stop the command as if
  // interrupted, print nothing more, exit 0. Any other stdout failure stops it with exit 1. Later
  // writes to the failed stream fail too; ignored.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (interruptedBy !== undefined) return;
    interruptedBy = err.code === 'EPIPE' ? 'EPIPE' : 'STDOUT';
    if (interruptedBy === 'STDOUT') process.stderr.write(`error INTERNAL: cannot write to stdout: ${err.message}\n`);
    controller.abort(interruptedBy);
  });

  // ... and notice it before the next write where we can: an empty room writes nothing for long.
  if (process.stdout.isTTY !== true) {
    watchPipeReaders(1, () => {
      if (interruptedBy !== undefined) return;
      interruptedBy = 'EPIPE';
      controller.abort(interruptedBy);
    });
  }

  const run: Runner = (body) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const out = new Output(opts, { stdout: process.stdout, stderr: process.stderr, env: process.env });
      const ctx: CliContext = {
        out,
        env: process.env,
        cwd: process.cwd(),
        signal: controller.signal,
        onForceExit: (fn) => forceExit.push(fn),
        signalEndsNormally: () => {
          signalEndsNormally = true;
        },
        interrupt: (sig) => process.kill(process.pid, sig),
        stdin: process.stdin,
        stdinIsTTY: process.stdin.isTTY === true,
      };
      try {
        await out.prepare();
        const code = await body(ctx, opts as never, cmd);
        const stopped = interruptedBy === 'SIGINT' || interruptedBy === 'SIGTERM';
        exitCode = interruptedBy !== undefined && !(stopped && signalEndsNormally) ? exitCodeFor(undefined, interruptedBy) : (code ?? ExitCode.OK);
      } catch (err) {
        exitCode = exitCodeFor(err, interruptedBy);
        if (interruptedBy === undefined || !(err instanceof SigctlError && err.code === 'ABORTED')) {
          const code = codeFor(err);
          const message = err instanceof Error ? err.message : String(err);
          if (out.json) out.jsonLine(jsonError(code, message));
          else out.error(code, message);
          if (code === 'INTERNAL' && err instanceof Error && out.verbose > 0) out.debug(err.stack ?? '');
        }
      }
    };

  try {
    const program = await buildProgram(run, commandIn(argv));
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is a usage error (printed on
      // stderr by commander; with --json also as the one JSON error document on stdout).
      exitCode = err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
      if (exitCode === ExitCode.USAGE && wantsJson(argv)) process.stdout.write(`${JSON.stringify(jsonError('USAGE', err.message.replace(/^error: /, '')))}\n`);
    } else {
      process.stderr.write(`error INTERNAL: ${err instanceof Error ? err.message : String(err)}\n`);
      exitCode = ExitCode.RUNTIME;
    }
  }
  await flush(process.stdout);
  await flush(process.stderr);
  process.exit(exitCode);
}

/**
 * The one shape of an error in --json output, for every command (docs/errors.md): the same as
 * the wire's error frame and peer's `error` event.
 */
export function jsonError(code: string, message: string): { type: 'error'; code: string; message: string } {
  return { type: 'error', code, message };
}

/** `--json` among the arguments (before a `--`), for errors commander raises before a command runs. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0 || stream.destroyed) resolve();
    else stream.write('', () => resolve());
  });
}
