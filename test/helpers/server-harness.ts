/**
 * Test harness for the signaling server: a server on 127.0.0.1 port 0 built from config overrides,
 * and a WebSocket test client whose every wait is bounded by a timeout. Every frame the client
 * receives is validated against the protocol's ServerMessage schema, so a malformed server frame
 * fails the test that caused it.
 */
import WebSocket, { type ClientOptions } from 'ws';
import { ConfigSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { ServerMessage } from '../../src/protocol/messages.js';
import { startServer, type ServerDeps, type SignalingServer } from '../../src/server/index.js';
import { within } from './within.js';

/** A validated config: port 0 on 127.0.0.1 plus `overrides`. */
export function testConfig(overrides: ConfigInput = {}): Config {
  return ConfigSchema.parse({ host: '127.0.0.1', port: 0, ...overrides });
}

/** Starts a server for one test; register `close()` in afterEach. */
export function startTestServer(overrides: ConfigInput = {}, deps: ServerDeps = {}): Promise<SignalingServer> {
  return startServer(testConfig(overrides), deps);
}

export { within };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type Frame = ServerMessage;
type FrameOf<T extends Frame['type']> = Extract<Frame, { type: T }>;

/** A raw WebSocket client that queues server frames for `next()`. */
export class TestClient {
  readonly frames: Frame[] = [];
  /** Frames that failed schema validation (should stay empty). */
  readonly invalid: unknown[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];
  private markers = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.invalid.push(data);
        return;
      }
      const text = (data as Buffer).toString();
      const parsed = ServerMessage.safeParse(JSON.parse(text));
      if (parsed.success) this.frames.push(parsed.data);
      else this.invalid.push(text);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
    ws.on('error', () => undefined);
  }

  /** Opens a connection and waits for the socket to open (not for `welcome`). */
  static async open(url: string, options: ClientOptions & { protocols?: string[] } = {}, timeoutMs = 3000): Promise<TestClient> {
    const ws = new WebSocket(url, options.protocols ?? [], options);
    const client = new TestClient(ws);
    await within(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      }),
      timeoutMs,
      `connect to ${url}`,
    );
    return client;
  }

  /** Connects and consumes the `welcome` frame. */
  static async connect(url: string, options: ClientOptions & { protocols?: string[] } = {}): Promise<TestClient> {
    const c = await TestClient.open(url, options);
    await c.next('welcome');
    return c;
  }

  /** Connects and joins `room`, returning the client and its `joined` frame. */
  static async join(url: string, room: string, extra: Record<string, unknown> = {}): Promise<{ c: TestClient; joined: FrameOf<'joined'> }> {
    const c = await TestClient.connect(url);
    c.send({ type: 'join', room, ...extra });
    const joined = await c.next('joined');
    return { c, joined };
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** The next queued frame of `type` (earlier frames of other types are kept). A timed-out wait consumes nothing. */
  next<T extends Frame['type']>(type: T, timeoutMs = 3000, match: (f: FrameOf<T>) => boolean = () => true): Promise<FrameOf<T>> {
    return this.nextOf<T>([type], timeoutMs, match as (f: Frame) => boolean);
  }

  /** The next queued frame of any of `types` (e.g. joined or error). */
  nextOf<T extends Frame['type']>(types: readonly T[], timeoutMs = 3000, match: (f: Frame) => boolean = () => true): Promise<FrameOf<T>> {
    const type = types.join('|');
    const find = (): FrameOf<T> | undefined => {
      const i = this.frames.findIndex((f) => (types as readonly string[]).includes(f.type) && match(f));
      return i < 0 ? undefined : (this.frames.splice(i, 1)[0] as FrameOf<T>);
    };
    return new Promise<FrameOf<T>>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const waiter = (): void => {
        const f = find();
        if (f !== undefined) {
          done();
          resolve(f);
        } else if (this.ws.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error(`connection closed while waiting for ${type}; queued: ${JSON.stringify(this.frames).slice(0, 300)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a ${type} frame (queued: ${JSON.stringify(this.frames).slice(0, 300)})`));
      }, timeoutMs);
      this.waiters.push(waiter);
      waiter();
    });
  }

  /** The next error frame, asserting nothing about its code. */
  error(timeoutMs = 3000): Promise<FrameOf<'error'>> {
    return this.next('error', timeoutMs);
  }

  /**
   * Round-trips a marker ping: resolves once the server has answered it, so every frame the server
   * sent this client before handling the ping has arrived. Pings are answered at once, in order
   * with the signals of the same connection (not after its queued join, meta or leave).
   */
  async settled(timeoutMs = 3000): Promise<void> {
    const id = `marker-${++this.markers}`;
    this.send({ type: 'ping', id });
    await this.next('pong', timeoutMs, (f) => f.re === id);
  }

  /**
   * True when no frame of `type` has arrived by the time the server answers a marker ping
   * (settled()): no sleep, the later pong proves that nothing was sent before it. The caller first
   * waits for a frame proving that the server has handled the cause (e.g. a relay's delivery to
   * another member), so the frame asserted absent would have been sent before the marker.
   */
  async none(type: Frame['type']): Promise<boolean> {
    await this.settled();
    return !this.frames.some((f) => f.type === type);
  }

  waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    return within(this.closed, timeoutMs, 'the connection to close');
  }

  /** Closes and waits (bounded) for the close to complete. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    await within(this.closed, 2000, 'client close').catch(() => this.ws.terminate());
  }

  /** Drops the TCP connection without a close handshake (an unexpected disconnect). */
  drop(): void {
    this.ws.terminate();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Tracks clients and servers opened by a test so afterEach can close them all. */
export class Resources {
  private readonly clients: TestClient[] = [];
  private readonly servers: SignalingServer[] = [];

  client(c: TestClient): TestClient {
    this.clients.push(c);
    return c;
  }

  server(s: SignalingServer): SignalingServer {
    this.servers.push(s);
    return s;
  }

  /** Connects a client to `s` (closed by closeAll) and joins `room`; resolves with its `joined`. An arrow, so `const { join } = res` works. */
  readonly join = async (s: SignalingServer, room: string, extra: Record<string, unknown> = {}): Promise<{ c: TestClient; joined: FrameOf<'joined'> }> => {
    const c = this.client(await TestClient.connect(s.url));
    c.send({ type: 'join', room, ...extra });
    return { c, joined: await c.next('joined') };
  };

  /** Closes everything; throws if any client received a frame that is not a valid ServerMessage. */
  async closeAll(): Promise<void> {
    const clients = this.clients.splice(0);
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(this.servers.splice(0).map((s) => s.close()));
    const invalid = clients.flatMap((c) => c.invalid);
    if (invalid.length > 0) throw new Error(`server sent frames that fail the ServerMessage schema: ${JSON.stringify(invalid).slice(0, 500)}`);
  }
}
