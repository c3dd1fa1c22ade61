/**
 * A logger for a test server whose lines the test can wait for: where the server changes state
 * without telling any client (a dropped member reserved for resume), its log line is the event a
 * test waits for instead of sleeping.
 */
import { pino, type Logger } from 'pino';
import { within } from './within.js';

/** One parsed log line (pino JSON). */
export type LogLine = Record<string, unknown> & { event?: string; msg?: string };

/** Collects a server's log lines (pass `logger` in ServerDeps); `next(event)` waits for one. */
export class LogCapture {
  readonly lines: LogLine[] = [];
  readonly logger: Logger;
  private waiters: Array<() => void> = [];

  constructor(level: 'debug' | 'info' = 'info') {
    // pino writes each line synchronously to a destination with a write() method.
    this.logger = pino({ level }, {
      write: (line: string): void => {
        this.lines.push(JSON.parse(line) as LogLine);
        for (const w of [...this.waiters]) w();
      },
    });
  }

  /** The next line with `event` not yet taken by an earlier next() (lines are consumed), bounded. */
  next(event: string, timeoutMs = 3000, match: (line: LogLine) => boolean = () => true): Promise<LogLine> {
    let waiter: (() => void) | undefined;
    const found = new Promise<LogLine>((resolve) => {
      waiter = (): void => {
        const i = this.lines.findIndex((l) => l.event === event && match(l));
        if (i < 0) return;
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(this.lines.splice(i, 1)[0]!);
      };
      this.waiters.push(waiter);
      waiter();
    });
    return within(found, timeoutMs, `a server log line with event ${event}`).finally(() => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
    });
  }
}
