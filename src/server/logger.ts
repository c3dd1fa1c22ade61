/**
 * The server's logger as the CLI builds it: pino with secrets redacted, writing JSON lines, or
 * readable lines through src/server/log-format.ts (config logFormat).
 */
import { pino, type Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { prettyLogStream } from './log-format.js';
import { LOG_REDACT_PATHS } from './redact.js';

/** How createServerLogger writes: pino JSON lines, or readable lines (src/server/log-format.ts). */
export interface LogOutput {
  format: 'json' | 'pretty';
  /** ANSI colours in pretty lines. */
  color?: boolean;
}

/** Creates a pino logger for the server writing to `destination` (the CLI passes stderr); JSON lines by default. */
export function createServerLogger(level: Config['logLevel'], destination: NodeJS.WritableStream, output: LogOutput = { format: 'json' }): Logger {
  const stream = output.format === 'pretty' ? prettyLogStream(destination, output.color === true) : destination;
  return pino({ level, base: { service: 'sigctl' }, redact: { paths: LOG_REDACT_PATHS } }, stream);
}
