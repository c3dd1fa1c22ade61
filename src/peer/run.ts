/**
 * The `sigctl peer` program as a library: a PeerSession plus a mode (chat, --echo, --send FILE,
 * --recv DIR), stop conditions (--count, --timeout, abort) and one stream of events that the CLI
 * prints as JSON lines or human output. Kept apart from src/cli so it is tested without a process.
 */
import { basename } from 'node:path';
import { TypedEmitter } from '../client/typed-emitter.js';
import { SigctlError, isSigctlError } from '../protocol/errors.js';
import type { PeerInfo, PeerLeftReason } from '../protocol/messages.js';
import type { ChannelData } from './channel.js';
import type { WeriftPatchStatus } from './patch-status.js';
import { createPeerSession, type PeerConnected, type PeerSession, type PeerSessionOptions } from './session.js';
import { FileReceiver, sendFile } from './transfer.js';

export interface RunPeerOptions extends PeerSessionOptions {
  /** Echo every message back to its sender (the far end for browser and CI tests). */
  echo?: boolean | undefined;
  /** Send this file to every peer that connects. */
  sendFile?: string | undefined;
  /** Keep received files in this directory (otherwise they are verified and discarded). */
  recvDir?: string | undefined;
  /** Replace a file of the same name in recvDir (otherwise the new one is saved as `name (1).ext`). */
  overwrite?: boolean | undefined;
  /** Stop after N messages/files received, or with --send after N peers confirmed the file (default 1). */
  count?: number | undefined;
  /** Stop after this long: an error (TIMEOUT) when a goal (--send, --count) is unmet, a normal end otherwise. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  chunkBytes?: number | undefined;
}

/** Connection time of one peer split into phases (ms). */
export interface PhaseSplit {
  /** ws connect -> joined. */
  signalingMs: number;
  /** offer sent/received -> ICE connected. */
  iceMs: number | undefined;
  /** ICE connected -> DTLS connected. */
  dtlsMs: number | undefined;
  /** DTLS connected -> data channel open. */
  channelMs: number | undefined;
  /** This link's start -> data channel open. */
  totalMs: number | undefined;
}

/** Why a run ended normally. */
export type EndReason = 'count' | 'sent' | 'timeout' | 'aborted';

/** Every event of a run; `type` is the JSON-lines event name. */
export type RunEvent =
  | { type: 'joined'; room: string; self: PeerInfo; peers: PeerInfo[]; capacity: number }
  | { type: 'peer-joined'; peer: string; name: string }
  | ({ type: 'peer-connected'; peer: string; name: string; pair: string; local: string; remote: string; rttMs: number | undefined; restarts: number } & PhaseSplit)
  | { type: 'message'; peer: string; name: string; text?: string; bytes?: number }
  | { type: 'bytes'; peer: string; name: string; direction: 'sent' | 'received'; file: string; bytes: number; total: number }
  | { type: 'file'; peer: string; name: string; direction: 'sent' | 'received'; file: string; bytes: number; sha256: string; ok: boolean; ms: number; path?: string | undefined }
  | { type: 'peer-left'; peer: string; name: string; reason: PeerLeftReason | 'failed' }
  | { type: 'reconnecting'; attempt: number; delayMs: number; code: string }
  | { type: 'resumed'; self: string }
  | { type: 'error'; code: string; message: string; peer?: string | undefined }
  | ({ type: 'patches'; engine: 'werift' } & WeriftPatchStatus)
  | RunSummary;

/** The last event of a run. */
export interface RunSummary {
  type: 'summary';
  room: string;
  reason: EndReason | 'error';
  durationMs: number;
  peersConnected: number;
  messagesIn: number;
  messagesOut: number;
  filesSent: number;
  filesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  errors: number;
}

const round = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms * 10) / 10);
const PROGRESS_EVERY_MS = 250;
/** Peer failures that mean --relay-only cannot work with any peer. */
const RELAY_FAILURES: ReadonlySet<string> = new Set(['NO_RELAY_CANDIDATES', 'TURN_AUTH_FAILED']);

/** Splits a PeerConnected report into the phases operators read. */
export function phaseSplit(p: PeerConnected): PhaseSplit {
  const ph = p.phases;
  const negotiationStart = ph['offer-sent'] ?? ph['offer-received'];
  const diff = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : round(a - b));
  return {
    signalingMs: round(p.session.joinedAt - p.session.startedAt) ?? 0,
    iceMs: diff(ph['ice-connected'], negotiationStart),
    dtlsMs: diff(ph['dtls-connected'], ph['ice-connected']),
    channelMs: diff(ph['channel-open'], ph['dtls-connected']),
    totalMs: diff(ph['channel-open'], p.startedAt),
  };
}

/** A `sigctl peer` run. Listen to 'event', then await run(). */
export class PeerRun extends TypedEmitter<{ event: [RunEvent] }> {
  readonly session: PeerSession;
  private readonly options: RunPeerOptions;
  private readonly receivers = new Map<string, FileReceiver>();
  private readonly sending = new Set<string>();
  private readonly lastProgress = new Map<string, number>();
  private stats = { peersConnected: 0, messagesIn: 0, messagesOut: 0, filesSent: 0, filesReceived: 0, bytesSent: 0, bytesReceived: 0, errors: 0 };
  private finish: ((outcome: { reason: EndReason } | { error: SigctlError }) => void) | undefined;
  private readonly abortSends = new AbortController();
  private summarized = false;

  constructor(options: RunPeerOptions) {
    super();
    this.options = options;
    this.session = createPeerSession(options);
  }

  /** Sends a chat line to every connected peer; returns how many got it. */
  sendText(text: string): number {
    if (text === '') return 0; // never send an empty message (it blocks a werift channel)
    const n = this.session.broadcast(text);
    this.stats.messagesOut += n;
    return n;
  }

  /** Runs until a stop condition; resolves with the summary (also emitted), rejects with a SigctlError. */
  async run(): Promise<RunSummary> {
    const started = performance.now();
    const outcome = new Promise<{ reason: EndReason } | { error: SigctlError }>((resolve) => {
      this.finish = (o) => {
        this.finish = undefined;
        resolve(o);
      };
    });
    const end = (o: { reason: EndReason } | { error: SigctlError }): void => this.finish?.(o);
    const onAbort = (): void => end({ reason: 'aborted' });
    let timer: NodeJS.Timeout | undefined;
    this.wire(end);
    try {
      if (this.options.signal?.aborted === true) return this.summary('aborted', started);
      this.options.signal?.addEventListener('abort', onAbort, { once: true });
      if (this.options.timeoutMs !== undefined) {
        const ms = this.options.timeoutMs;
        timer = setTimeout(() => {
          if (!this.hasGoal()) end({ reason: 'timeout' });
          else end({ error: new SigctlError('TIMEOUT', `--timeout ${ms / 1000} s reached: ${this.progressText()}`) });
        }, ms);
      }
      const starting = this.session.start();
      const first = await Promise.race([starting.then(() => undefined), outcome]);
      if (first !== undefined) {
        // Aborted or timed out while connecting: the join may still land; close() leaves cleanly.
        void starting.catch(() => undefined);
        if ('error' in first) throw first.error;
        return this.summary(first.reason, started);
      }
      const o = await outcome;
      if ('error' in o) throw o.error;
      return this.summary(o.reason, started);
    } catch (err) {
      const error = isSigctlError(err) ? err : new SigctlError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
      this.stats.errors += 1;
      this.event({ type: 'error', code: error.code, message: error.message });
      this.event(this.summaryEvent('error', started));
      throw error;
    } finally {
      clearTimeout(timer);
      this.options.signal?.removeEventListener('abort', onAbort);
      this.abortSends.abort();
      await this.drainChannels();
      await Promise.all([...this.receivers.values()].map((r) => r.abort()));
      await this.session.close();
    }
  }

  // ---- internals ----------------------------------------------------------------------------------

  /** Emits a run event; `summary` is always the last one (cleanup after it, e.g. a peer leaving while we drain, is not reported). */
  private event(e: RunEvent): void {
    if (this.summarized) return;
    if (e.type === 'summary') this.summarized = true;
    this.emit('event', e);
  }

  private hasGoal(): boolean {
    return this.options.sendFile !== undefined || this.options.count !== undefined;
  }

  private progressText(): string {
    if (this.options.sendFile !== undefined) return `${this.stats.filesSent}/${this.options.count ?? 1} peers confirmed the file`;
    return `${this.stats.messagesIn + this.stats.filesReceived}/${this.options.count ?? 0} received, ${this.stats.peersConnected} peer(s) connected`;
  }

  private summary(reason: EndReason, started: number): RunSummary {
    const s = this.summaryEvent(reason, started);
    this.event(s);
    return s;
  }

  private summaryEvent(reason: RunSummary['reason'], started: number): RunSummary {
    return { type: 'summary', room: this.options.room, reason, durationMs: round(performance.now() - started) ?? 0, ...this.stats };
  }

  private wire(end: (o: { reason: EndReason } | { error: SigctlError }) => void): void {
    const s = this.session;
    const emit = (e: RunEvent): void => this.event(e);
    const received = (): void => {
      if (this.options.sendFile === undefined && this.options.count !== undefined && this.stats.messagesIn + this.stats.filesReceived >= this.options.count) end({ reason: 'count' });
    };
    // Right after `joined` (werift's runtime patches are applied while the join is in flight).
    s.on('patches', (status) => emit({ type: 'patches', engine: 'werift', ...status }));
    s.on('joined', (j) => emit({ type: 'joined', room: j.room, self: j.self, peers: j.peers, capacity: j.capacity }));
    s.on('peer-joined', (p) => emit({ type: 'peer-joined', peer: p.id, name: p.name }));
    s.on('peer-connected', (p) => {
      this.stats.peersConnected += 1;
      emit({
        type: 'peer-connected',
        peer: p.peer,
        name: p.name,
        pair: p.pair?.type ?? 'unknown',
        local: p.pair?.local ?? 'unknown',
        remote: p.pair?.remote ?? 'unknown',
        rttMs: p.pair?.rttMs,
        restarts: p.restarts,
        ...phaseSplit(p),
      });
      if (this.options.sendFile !== undefined) this.startSend(p.peer, p.name, this.options.sendFile, end);
    });
    s.on('message', ({ peer, name, data }) => {
      if (this.receiver(peer, name, received).handle(data)) return;
      this.stats.messagesIn += 1;
      emit({ type: 'message', peer, name, ...(typeof data === 'string' ? { text: data } : { bytes: data.byteLength }) });
      if (this.options.echo === true) this.echo(peer, data);
      received();
    });
    s.on('peer-left', ({ peer, name, reason }) => {
      void this.receivers.get(peer)?.abort();
      this.receivers.delete(peer);
      emit({ type: 'peer-left', peer, name, reason });
    });
    s.on('peer-failed', ({ peer, error }) => {
      this.stats.errors += 1;
      emit({ type: 'error', code: error.code, message: error.message, peer });
      // With a goal and nobody else to reach it with, this failure is the run's failure.
      if (this.hasGoal() && s.peers().every((p) => !p.connected)) end({ error });
      // --relay-only without a relay is the run's failure: the TURN server is what it checks
      // (a CI job built on it must not pass at --timeout while TURN is down).
      else if (this.options.relayOnly === true && RELAY_FAILURES.has(error.code)) end({ error });
    });
    s.on('error', (error) => {
      this.stats.errors += 1;
      emit({ type: 'error', code: error.code, message: error.message });
    });
    s.on('reconnecting', (e) => emit({ type: 'reconnecting', attempt: e.attempt, delayMs: e.delayMs, code: e.cause.code }));
    s.on('resumed', (j) => emit({ type: 'resumed', self: j.self.id }));
    s.on('closed', ({ error }) => {
      if (error !== undefined) end({ error });
    });
  }

  private receiver(peer: string, name: string, received: () => void): FileReceiver {
    let r = this.receivers.get(peer);
    if (r === undefined) {
      r = new FileReceiver(
        (reply) => this.session.channel(peer)?.send(reply),
        {
          onProgress: (bytes, total, file) => this.progress(peer, name, 'received', file, bytes, total),
          onDone: (res) => {
            this.stats.bytesReceived += res.bytes;
            if (res.ok) this.stats.filesReceived += 1;
            else this.stats.errors += 1;
            this.event({ type: 'file', peer, name, direction: 'received', file: res.name, bytes: res.bytes, sha256: res.sha256, ok: res.ok, ms: round(res.ms) ?? 0, path: res.path });
            if (!res.ok) this.event({ type: 'error', peer, code: 'TRANSFER_FAILED', message: `${res.name}: SHA-256 ${res.sha256} does not match the sender's ${res.expectedSha256}` });
            received();
          },
        },
        this.options.recvDir,
        { overwrite: this.options.overwrite === true },
      );
      this.receivers.set(peer, r);
    }
    return r;
  }

  private echo(peer: string, data: ChannelData): void {
    const ch = this.session.channel(peer);
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (ch === undefined || size === 0) return;
    try {
      ch.send(data);
      this.stats.messagesOut += 1;
    } catch (err) {
      this.event({ type: 'error', peer, code: isSigctlError(err) ? err.code : 'INTERNAL', message: err instanceof Error ? err.message : String(err) });
    }
  }

  private startSend(peer: string, name: string, path: string, end: (o: { reason: EndReason } | { error: SigctlError }) => void): void {
    const channel = this.session.channel(peer);
    if (channel === undefined || this.sending.has(peer)) return;
    this.sending.add(peer);
    sendFile(channel, path, {
      chunkBytes: this.options.chunkBytes,
      signal: this.abortSends.signal,
      onProgress: (bytes, total) => this.progress(peer, name, 'sent', basename(path), bytes, total),
    }).then(
      (res) => {
        this.stats.filesSent += 1;
        this.stats.bytesSent += res.bytes;
        this.event({ type: 'file', peer, name, direction: 'sent', file: res.name, bytes: res.bytes, sha256: res.sha256, ok: true, ms: round(res.ms) ?? 0 });
        if (this.stats.filesSent >= (this.options.count ?? 1)) end({ reason: 'sent' });
      },
      (err: unknown) => {
        if (this.abortSends.signal.aborted) return;
        const error = isSigctlError(err) ? err : new SigctlError('TRANSFER_FAILED', String(err));
        end({ error });
      },
    );
  }

  private progress(peer: string, name: string, direction: 'sent' | 'received', file: string, bytes: number, total: number): void {
    const key = `${peer}:${direction}`;
    const now = performance.now();
    const last = this.lastProgress.get(key) ?? 0;
    if (bytes < total && now - last < PROGRESS_EVERY_MS) return;
    this.lastProgress.set(key, now);
    this.event({ type: 'bytes', peer, name, direction, file, bytes, total });
  }

  /**
   * Lets queued data (the last echo, a file-ack) reach the far end before the connections close;
   * bounded. Without it `--recv DIR --count 1` exits before the sender has its confirmation: the
   * ack is still unacknowledged in SCTP when close() aborts the association and the process exits.
   */
  private async drainChannels(): Promise<void> {
    const channels = this.session
      .peers()
      .map((p) => this.session.channel(p.info.id))
      .filter((c) => c !== undefined);
    await Promise.all(channels.map((c) => c.delivered(2_000)));
  }
}

/** Creates a run (not started). */
export function createPeerRun(options: RunPeerOptions): PeerRun {
  return new PeerRun(options);
}
