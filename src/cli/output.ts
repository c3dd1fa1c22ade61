/**
 * Terminal output conventions (npm cli style): results on stdout, logs and progress on stderr,
 * `--json` prints exactly one JSON document (or one per line for streaming commands), spinners
 * only on a TTY and never with --json, colour off with --no-color or NO_COLOR.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { default as oraFunction, Ora } from 'ora';
import type { Writable } from 'node:stream';

/** Global flags every command understands. */
export interface GlobalOptions {
  config?: string | undefined;
  verbose?: number | undefined;
  quiet?: boolean | undefined;
  color?: boolean | undefined;
  json?: boolean | undefined;
}

export interface OutputStreams {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
}

type OraFactory = typeof oraFunction;
/** ora (with string-width, cli-cursor, ...: dozens of modules to load) is loaded only for an interactive run. */
let oraFactory: OraFactory | undefined;

/** What a command uses to talk to the user. */
export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: number;
  readonly color: ChalkInstance;
  readonly interactive: boolean;
  private readonly streams: OutputStreams;

  constructor(options: GlobalOptions, streams: OutputStreams) {
    this.streams = streams;
    this.json = options.json === true;
    this.quiet = options.quiet === true;
    this.verbose = options.verbose ?? 0;
    const noColor = options.color === false || (streams.env.NO_COLOR ?? '') !== '';
    const level = noColor ? 0 : streams.stderr.isTTY === true || streams.stdout.isTTY === true || (streams.env.FORCE_COLOR ?? '') !== '' ? 1 : 0;
    this.color = new Chalk({ level: level === 0 ? 0 : streams.env.COLORTERM === 'truecolor' ? 3 : 1 });
    this.interactive = streams.stderr.isTTY === true && !this.json && !this.quiet && streams.env.CI !== 'true';
  }

  /**
   * Loads what this output needs beyond the basics: ora, when spinners can be shown. main awaits
   * it before a command runs, so --json and piped runs never load ora.
   */
  async prepare(): Promise<void> {
    if (this.interactive && oraFactory === undefined) oraFactory = (await import('ora')).default;
  }

  /** A result line (human mode) on stdout. */
  result(line: string): void {
    this.streams.stdout.write(`${line}\n`);
  }

  /** One JSON document (or one event in a JSON-lines stream) on stdout. */
  jsonLine(doc: unknown): void {
    this.streams.stdout.write(`${JSON.stringify(doc)}\n`);
  }

  /** Progress and diagnostics on stderr; suppressed by --quiet. */
  info(line: string): void {
    if (!this.quiet) this.streams.stderr.write(`${line}\n`);
  }

  /** Only with -v. */
  debug(line: string): void {
    if (this.verbose > 0 && !this.quiet) this.streams.stderr.write(`${this.color.dim(line)}\n`);
  }

  warn(line: string): void {
    this.streams.stderr.write(`${this.color.yellow('warning')} ${line}\n`);
  }

  /** An error line on stderr: `error CODE: message`. */
  error(code: string, message: string): void {
    this.streams.stderr.write(`${this.color.red('error')} ${this.color.bold(code)}: ${message}\n`);
  }

  /** A spinner on a TTY (after prepare()); undefined otherwise (callers use optional chaining). */
  spinner(text: string): Ora | undefined {
    // A pseudo-terminal that reports 0 columns makes ora redraw without end: no spinner there.
    if (!this.interactive || oraFactory === undefined || ((this.streams.stderr as { columns?: number }).columns ?? 0) <= 0) return undefined;
    // discardStdin off: ora's default puts the TTY in raw mode (and never reads it), so Ctrl-C,
    // Ctrl-D and Ctrl-\ did nothing. The terminal stays cooked: Ctrl-C is SIGINT (main.ts).
    return oraFactory({ text, stream: this.streams.stderr, color: 'cyan', discardStdin: false }).start();
  }

  get stdout(): OutputStreams['stdout'] {
    return this.streams.stdout;
  }

  get stderr(): OutputStreams['stderr'] {
    return this.streams.stderr;
  }
}
