/**
 * Request/response correlation: a client message carries an `id`; the server's reply carries it
 * back as `re`. Each pending request expects certain reply types, times out on its own, and is
 * rejected with the reply's error code when the server answers with an `error` frame.
 */
import { SigctlError } from '../protocol/errors.js';
import type { MessageId, ServerMessage } from '../protocol/messages.js';
import type { Clock, TimerHandle } from './clock.js';
import { errorFromFrame } from './errors.js';

interface Pending {
  expect: ReadonlySet<string>;
  /** Error codes that are informational for this request: reported, and the request keeps waiting. */
  tolerate: ReadonlySet<string>;
  resolve: (msg: ServerMessage) => void;
  reject: (err: SigctlError) => void;
  timer: TimerHandle;
}

/** What match() did with a frame. */
export type MatchResult =
  /** Not a reply to a pending request: handle it as an event. */
  | { kind: 'none' }
  /** Settled a request; `alsoEvent` when the frame is news for everyone too (peer-updated). */
  | { kind: 'settled'; alsoEvent: boolean }
  /** An error the request tolerates: report it, the request goes on waiting. */
  | { kind: 'tolerated'; error: SigctlError };

/** The requests of one client waiting for replies. */
export class PendingRequests {
  private readonly pending = new Map<MessageId, Pending>();

  constructor(private readonly clock: Clock) {}

  /**
   * Registers request `id` and runs `send`; resolves with the first reply of an `expect`ed type,
   * rejects on an error reply, a timeout or a send failure.
   */
  add(id: MessageId, what: string, options: { expect: readonly string[]; tolerate?: readonly string[]; timeoutMs: number }, send: () => void): Promise<ServerMessage> {
    return new Promise<ServerMessage>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(id);
        reject(new SigctlError('TIMEOUT', `no reply to ${what} within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      this.pending.set(id, { expect: new Set(options.expect), tolerate: new Set(options.tolerate ?? []), resolve, reject, timer });
      try {
        send();
      } catch (err) {
        this.settle(id);
        reject(err instanceof SigctlError ? err : new SigctlError('CONNECTION_LOST', err instanceof Error ? err.message : String(err), { cause: err }));
      }
    });
  }

  /** Settles the request a frame answers, if any. */
  match(msg: ServerMessage): MatchResult {
    const re = 're' in msg ? msg.re : undefined;
    const p = re === undefined ? undefined : this.pending.get(re);
    if (re === undefined || p === undefined) return { kind: 'none' };
    if (msg.type === 'error') {
      const error = errorFromFrame(msg);
      if (p.tolerate.has(msg.code)) return { kind: 'tolerated', error };
      this.settle(re);
      p.reject(error);
      return { kind: 'settled', alsoEvent: false };
    }
    if (!p.expect.has(msg.type)) return { kind: 'none' };
    this.settle(re);
    p.resolve(msg);
    return { kind: 'settled', alsoEvent: msg.type === 'peer-updated' };
  }

  /** Rejects every pending request (the socket went away, or the client closed). */
  rejectAll(error: SigctlError): void {
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(error);
    }
  }

  private settle(id: MessageId): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.clock.clearTimeout(p.timer);
    this.pending.delete(id);
  }
}
