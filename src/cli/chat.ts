/**
 * The interactive chat of `sigctl peer` on a terminal: a readline prompt with line editing and
 * history (arrow keys edit the line, never reach the other side), received lines printed above
 * the line being typed, Ctrl-D on an empty line leaves, Ctrl-C interrupts as everywhere (130).
 */
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';

export interface ChatOptions {
  input: NodeJS.ReadableStream;
  /** The terminal the prompt and the typed line are drawn on. */
  output: NodeJS.WritableStream;
  prompt?: string;
  /** A line the user entered (never empty). */
  onLine(line: string): void;
  /** Ctrl-D on an empty line (or the input ended): leave. */
  onEnd(): void;
  /** Ctrl-C (readline reads the terminal raw, so it arrives here, not as a signal). */
  onInterrupt(): void;
  /** Ctrl-\ (likewise). */
  onQuit(): void;
}

/** A readline chat; close() is idempotent. */
export class Chat {
  private readonly rl: Interface;
  private readonly output: NodeJS.WritableStream;
  private closed = false;

  constructor(options: ChatOptions) {
    this.output = options.output;
    this.rl = createInterface({ input: options.input, output: options.output, terminal: true, prompt: options.prompt ?? '> ', historySize: 200 });
    this.rl.on('line', (line) => {
      if (line.trim() !== '') options.onLine(line);
      if (!this.closed) this.rl.prompt();
    });
    this.rl.on('close', () => {
      const wasOpen = !this.closed;
      this.closed = true;
      if (wasOpen) options.onEnd();
    });
    this.rl.on('SIGINT', () => options.onInterrupt());
    // readline turns the terminal's signal keys off; Ctrl-\ arrives as a key.
    options.input.on('keypress', (_str: unknown, key: { sequence?: string } | undefined) => {
      if (key?.sequence === '\x1c') options.onQuit();
    });
    this.rl.prompt();
  }

  /** Runs `write` (which prints whole lines) above the prompt, then redraws the line being typed. */
  print(write: () => void): void {
    if (this.closed) {
      write();
      return;
    }
    clearLine(this.output, 0);
    cursorTo(this.output, 0);
    write();
    this.rl.prompt(true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Leave the cursor on a fresh line, then restore the terminal (cooked mode).
    clearLine(this.output, 0);
    cursorTo(this.output, 0);
    this.rl.close();
  }
}
