/**
 * A signaling load worker (worker_threads entry): plain WebSocket clients speaking protocol v1,
 * STOMP or the raw relay (signaling-dialects.ts), no WebRTC. It joins its rooms, then on each `run` command sends open-loop at the given rate (sends are paced
 * by a timer, never by replies) and accounts for every delivery by (sender, seq): distinct,
 * duplicate, late or missing. Loaded only as a worker; importing it elsewhere does nothing.
 */
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { clientDialect, type BenchPayload, type ClientDialect, type InboundSink } from './signaling-dialects.js';
import { SampleBuffer } from './stats.js';
import { urlFor } from './spread.js';
import { ToWorker, WorkerSetup, type FromWorker, type RunCommand } from './signaling-messages.js';

interface Client {
  /** Global sender index carried in every signal. */
  index: number;
  room: number;
  /** The node this client connects to. */
  url: string;
  ws: WebSocket | undefined;
  dialect: ClientDialect;
  joined: boolean;
  seq: number;
  /** sender index -> seqs received from it in the current window. */
  seen: Map<number, Set<number>>;
}

interface Window {
  phase: number;
  sent: number;
  expected: number;
  delivered: number;
  duplicates: number;
  late: number;
  latency: SampleBuffer;
  errors: Map<string, number>;
}

const TICK_MS = 5;

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function text(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** The catalogue code for a failed connect: refused, or an HTTP status on the upgrade (401, 403, 503). */
function connectErrorCode(err: NodeJS.ErrnoException): string {
  const status = /Unexpected server response: (\d+)/.exec(err.message)?.[1];
  if (status === '401') return 'UNAUTHORIZED';
  if (status === '403') return 'FORBIDDEN';
  if (status === '503') return 'UNAVAILABLE';
  if (status !== undefined || err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND') return 'SERVER_UNREACHABLE';
  return 'CONNECTION_LOST';
}

/** A close reason that is a catalogue code (the raw relay closes a refused join 4013 with one). */
const CODE_REASON = /^[A-Z][A-Z_]{2,40}$/;

class LoadWorker {
  private readonly clients: Client[] = [];
  /** Joined members per room (index into setup.rooms). */
  private readonly roomJoined: number[];
  private window: Window | undefined;
  private closed = false;

  constructor(
    private readonly setup: WorkerSetup,
    private readonly port: MessagePort,
  ) {
    this.roomJoined = setup.rooms.map(() => 0);
    let index = setup.base;
    setup.rooms.forEach((r, room) => {
      for (let i = 0; i < r.members; i++) {
        const dialect = clientDialect(setup.protocol, { index, room: r.room, members: r.members, capacity: setup.capacity });
        const url = urlFor(setup.spread === 'rooms' ? r.ordinal : index, setup.urls);
        index++;
        this.clients.push({ index: index - 1, room, url, ws: undefined, dialect, joined: false, seq: 0, seen: new Map() });
      }
    });
  }

  private post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(msg, transfer);
  }

  async joinAll(): Promise<void> {
    const joinMs = new SampleBuffer(this.clients.length);
    const errors = new Map<string, number>();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < this.clients.length && !this.closed) {
        const client = this.clients[next++]!;
        try {
          joinMs.push(await this.join(client));
        } catch (err) {
          count(errors, err instanceof Error ? err.message : 'INTERNAL');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.setup.joinConcurrency, this.clients.length) }, lane));
    const ms = joinMs.toArray();
    const failed = this.clients.length - ms.length;
    const joined = this.clients.filter((c) => c.joined);
    const joinedByUrl = this.setup.urls.map((u) => joined.filter((c) => c.url === u).length);
    const urlsOfRoom = this.setup.rooms.map(() => new Set<string>());
    for (const c of joined) urlsOfRoom[c.room]!.add(c.url);
    const spanningRooms = urlsOfRoom.filter((s) => s.size > 1).length;
    this.post({ type: 'joined', ok: ms.length, failed, joinMs: ms, errors: Object.fromEntries(errors), joinedByUrl, spanningRooms }, [ms.buffer]);
  }

  /** Opens one client and joins its room; resolves with ws-connect -> joined in ms, rejects with a code. */
  private join(client: Client): Promise<number> {
    const started = performance.now();
    const dialect = client.dialect;
    return new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(dialect.connectUrl(client.url), dialect.subprotocol ?? [], {
        perMessageDeflate: false,
        handshakeTimeout: this.setup.joinTimeoutMs,
        ...(this.setup.token === undefined ? {} : { headers: { Authorization: `Bearer ${this.setup.token}` } }),
      });
      client.ws = ws;
      let settled = false;
      const fail = (code: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(code));
      };
      const timer = setTimeout(() => fail('TIMEOUT'), this.setup.joinTimeoutMs);
      const sink: InboundSink = {
        joined: () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          client.joined = true;
          this.roomJoined[client.room]!++;
          resolve(performance.now() - started);
        },
        signal: (payload) => this.onSignal(client, payload),
        error: (code) => {
          if (!settled) fail(code);
          else if (this.window !== undefined) count(this.window.errors, code);
        },
        send: (frame) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(frame);
        },
      };
      ws.on('error', (err: NodeJS.ErrnoException) => fail(connectErrorCode(err)));
      ws.on('close', (code, reason) => {
        const text = reason.toString('utf8');
        const why = CODE_REASON.test(text) ? text : `CLOSED_${code}`;
        if (!settled) fail(why);
        else if (!this.closed && this.window !== undefined) count(this.window.errors, why);
      });
      ws.on('open', () => dialect.opened(sink));
      ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
        if (!isBinary) dialect.inbound(text(data), sink);
      });
    });
  }

  private onSignal(client: Client, sig: BenchPayload): void {
    const now = performance.now();
    const w = this.window;
    if (w === undefined) return;
    if (sig.p !== w.phase) {
      w.late++;
      return;
    }
    let seen = client.seen.get(sig.s);
    if (seen === undefined) {
      seen = new Set();
      client.seen.set(sig.s, seen);
    }
    if (seen.has(sig.q)) {
      w.duplicates++;
      return;
    }
    seen.add(sig.q);
    w.delivered++;
    w.latency.push(now - sig.t);
  }

  /** One open-loop measurement window. */
  async run(cmd: RunCommand): Promise<void> {
    const senders = this.clients.filter((c) => c.joined && this.roomJoined[c.room]! > 1);
    for (const c of this.clients) c.seen.clear();
    const w: Window = { phase: cmd.phase, sent: 0, expected: 0, delivered: 0, duplicates: 0, late: 0, latency: new SampleBuffer(), errors: new Map() };
    this.window = w;
    const elu0 = performance.eventLoopUtilization();
    const start = performance.now();
    let cursor = 0;
    let lastSend = start;
    if (senders.length > 0 && cmd.rate > 0) {
      await new Promise<void>((resolve) => {
        const tick = (): void => {
          const now = performance.now();
          const elapsed = Math.min(now - start, cmd.durationMs);
          const due = Math.floor((cmd.rate * elapsed) / 1000) - w.sent;
          for (let i = 0; i < due && !this.closed; i++) {
            const c = senders[cursor]!;
            cursor = (cursor + 1) % senders.length;
            const t = performance.now();
            c.ws!.send(c.dialect.signal(`{"s":${c.index},"q":${c.seq++},"p":${cmd.phase},"t":${t}}`));
            w.sent++;
            w.expected += this.roomJoined[c.room]! - 1;
            lastSend = t;
          }
          if (elapsed >= cmd.durationMs || this.closed) {
            clearInterval(timer);
            resolve();
          }
        };
        const timer = setInterval(tick, TICK_MS);
      });
    }
    const sendMs = lastSend - start;
    const deadline = performance.now() + cmd.drainMs;
    while (w.delivered + w.duplicates < w.expected && performance.now() < deadline && !this.closed) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const windowMs = performance.now() - start;
    const elu = performance.eventLoopUtilization(elu0).utilization;
    this.window = undefined;
    const latencyMs = w.latency.toArray();
    this.post(
      {
        type: 'result',
        phase: w.phase,
        sent: w.sent,
        expected: w.expected,
        delivered: w.delivered,
        duplicates: w.duplicates,
        late: w.late,
        sendMs,
        windowMs,
        latencyMs,
        errors: Object.fromEntries(w.errors),
        elu,
      },
      [latencyMs.buffer],
    );
  }

  /** Stops sending and draining at once (the `close` that follows then finds the window ended). */
  stop(): void {
    this.closed = true;
  }

  /** Closes every client (1000), terminating those that do not finish the handshake in 2 s. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.clients.map(
        (c) =>
          new Promise<void>((resolve) => {
            const ws = c.ws;
            if (ws === undefined || ws.readyState === WebSocket.CLOSED) {
              resolve();
              return;
            }
            const timer = setTimeout(() => {
              ws.terminate();
              resolve();
            }, 2_000);
            ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
            else ws.close(1000);
          }),
      ),
    );
    this.post({ type: 'closed' });
  }
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const worker = new LoadWorker(WorkerSetup.parse(workerData), port);
  let queue = Promise.resolve();
  const fatal = (err: unknown): void => port.postMessage({ type: 'fatal', message: err instanceof Error ? err.message : String(err) } satisfies FromWorker);
  port.on('message', (raw: unknown) => {
    const cmd = ToWorker.parse(raw);
    if (cmd.type === 'close') worker.stop();
    // Commands run one after another: a `close` waits for a running window to report.
    queue = queue.then(() => (cmd.type === 'run' ? worker.run(cmd) : worker.close())).catch(fatal);
  });
  queue = queue.then(() => worker.joinAll()).catch(fatal);
}
