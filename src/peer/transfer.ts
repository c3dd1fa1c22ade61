/**
 * File transfer over a peer's data channel (documented in docs/peer.md so browser apps can speak it):
 *
 *   sender -> {"sigctl":"file","id":ID,"name":NAME,"size":N}          (text)
 *   sender -> binary chunks of at most 64 KiB, in order                (binary)
 *   sender -> {"sigctl":"file-end","id":ID,"sha256":HEX}               (text)
 *   receiver -> {"sigctl":"file-ack","id":ID,"ok":BOOL,"bytes":N,"sha256":HEX}
 *
 * The sender keeps bufferedAmount under a high-water mark (werift slows down when it grows to
 * MiBs) and succeeds only when the receiver's SHA-256 matches its own.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { link, rename, stat, unlink } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { SigctlError } from '../protocol/errors.js';
import { DEFAULT_HIGH_WATER_MARK, MAX_MESSAGE_BYTES, type ChannelData, type PeerChannel } from './channel.js';

/** Default chunk size: large enough for throughput, well under werift's 64 KiB message limit. */
export const DEFAULT_CHUNK_BYTES = 32 * 1024;

const FileHeader = z.object({ sigctl: z.literal('file'), id: z.string().min(1).max(64), name: z.string().min(1).max(255), size: z.number().int().nonnegative() });
const FileEnd = z.object({ sigctl: z.literal('file-end'), id: z.string().min(1).max(64), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const FileAck = z.object({ sigctl: z.literal('file-ack'), id: z.string(), ok: z.boolean(), bytes: z.number().int().nonnegative(), sha256: z.string() });
const Control = z.discriminatedUnion('sigctl', [FileHeader, FileEnd, FileAck]);
type Control = z.infer<typeof Control>;

/** Parses a transfer control message, or undefined when `data` is not one (plain chat text, binary). */
export function parseControl(data: ChannelData): Control | undefined {
  if (typeof data !== 'string' || !data.startsWith('{"sigctl"')) return undefined;
  try {
    const parsed = Control.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The outcome of one file transfer. */
export interface TransferResult {
  id: string;
  name: string;
  bytes: number;
  sha256: string;
  ms: number;
  /** Receiver only: where the file was written (undefined when it was only verified). */
  path?: string | undefined;
}

export interface SendFileOptions {
  chunkBytes?: number | undefined;
  highWaterMark?: number | undefined;
  /** Called after each chunk with the bytes handed to the channel so far. */
  onProgress?: ((bytes: number, total: number) => void) | undefined;
  /** How long to wait for the receiver's ack after the last chunk (ms, default 30000). */
  ackTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  now?: (() => number) | undefined;
}

/** Sends the file at `path` over `channel`; resolves once the receiver confirmed the SHA-256. */
export async function sendFile(channel: PeerChannel, path: string, options: SendFileOptions = {}): Promise<TransferResult> {
  const now = options.now ?? (() => performance.now());
  const chunkBytes = Math.min(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, MAX_MESSAGE_BYTES);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new SigctlError('USAGE', `--send ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const id = randomUUID();
  const name = basename(path);
  const started = now();
  const hash = createHash('sha256');
  // Listen for the ack before sending anything: a fast receiver must not answer into the void.
  let ackListener: (() => void) | undefined;
  const ack = new Promise<z.infer<typeof FileAck>>((resolve) => {
    ackListener = channel.onMessage((data) => {
      const c = parseControl(data);
      if (c?.sigctl === 'file-ack' && c.id === id) resolve(c);
    });
  });
  try {
    channel.send(JSON.stringify({ sigctl: 'file', id, name, size }));
    let sent = 0;
    const stream = createReadStream(path, { highWaterMark: chunkBytes });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (options.signal?.aborted === true) throw new SigctlError('ABORTED', 'file transfer aborted');
      hash.update(chunk);
      await channel.sendWithBackpressure(chunk, { highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, signal: options.signal });
      sent += chunk.byteLength;
      options.onProgress?.(sent, size);
    }
    const sha256 = hash.digest('hex');
    channel.send(JSON.stringify({ sigctl: 'file-end', id, sha256 }));
    const ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const reply = await Promise.race([
      ack,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SigctlError('TRANSFER_FAILED', `no acknowledgement for ${name} within ${ackTimeoutMs / 1000} s`)), ackTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (!reply.ok || reply.sha256 !== sha256 || reply.bytes !== sent) {
      throw new SigctlError('TRANSFER_FAILED', `${name}: the receiver got ${reply.bytes} bytes with SHA-256 ${reply.sha256}, sent ${sent} bytes with ${sha256}`, {
        details: { sent, received: reply.bytes },
      });
    }
    return { id, name, bytes: sent, sha256, ms: now() - started };
  } catch (err) {
    if (err instanceof SigctlError) throw err;
    throw new SigctlError('TRANSFER_FAILED', `${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    ackListener?.();
  }
}

interface Incoming {
  header: z.infer<typeof FileHeader>;
  hash: ReturnType<typeof createHash>;
  bytes: number;
  started: number;
  out: WriteStream | undefined;
  tmpPath: string | undefined;
  finalPath: string | undefined;
  writeError: Error | undefined;
}

/** Callbacks of a FileReceiver. */
export interface FileReceiverHooks {
  onStart?: (name: string, size: number) => void;
  onProgress?: (bytes: number, total: number, name: string) => void;
  /** A transfer finished: `ok` is whether the SHA-256 matched. */
  onDone: (result: TransferResult & { ok: boolean; expectedSha256: string }) => void;
}

/**
 * The receiving side for one peer's channel. Feed it every message from that peer; it consumes
 * transfer traffic and returns false for anything else (chat text, echo traffic).
 */
export class FileReceiver {
  private current: Incoming | undefined;

  constructor(
    private readonly reply: (data: string) => void,
    private readonly hooks: FileReceiverHooks,
    /** Directory to write files to (--recv DIR); undefined verifies without keeping them. */
    private readonly dir?: string | undefined,
    private readonly placing: { overwrite?: boolean } = {},
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when `data` belonged to a transfer. */
  handle(data: ChannelData): boolean {
    if (typeof data !== 'string') {
      const cur = this.current;
      if (cur === undefined) return false;
      cur.hash.update(data);
      cur.bytes += data.byteLength;
      cur.out?.write(data);
      this.hooks.onProgress?.(cur.bytes, cur.header.size, cur.header.name);
      return true;
    }
    const c = parseControl(data);
    if (c === undefined) return false;
    if (c.sigctl === 'file') this.begin(c);
    else if (c.sigctl === 'file-end') void this.finish(c);
    // file-ack: answers to our own sends, consumed by sendFile's listener.
    return true;
  }

  /** Abandons a transfer in progress (peer left); its partial file is removed. */
  async abort(): Promise<void> {
    const cur = this.current;
    this.current = undefined;
    if (cur?.out === undefined) return;
    await new Promise<void>((resolve) => cur.out!.end(() => resolve()));
    if (cur.tmpPath !== undefined) await unlink(cur.tmpPath).catch(() => undefined);
  }

  private begin(header: z.infer<typeof FileHeader>): void {
    void this.abort();
    // Only the base name is used: a peer must not choose where in our file system we write.
    const safe = basename(header.name).replace(/[^\w.-]/g, '_') || 'file';
    const finalPath = this.dir === undefined ? undefined : join(this.dir, safe);
    const tmpPath = finalPath === undefined ? undefined : `${finalPath}.part-${header.id.slice(0, 8)}`;
    this.current = {
      header: { ...header, name: safe },
      hash: createHash('sha256'),
      bytes: 0,
      started: this.now(),
      out: tmpPath === undefined ? undefined : createWriteStream(tmpPath),
      tmpPath,
      finalPath,
      writeError: undefined,
    };
    const cur = this.current;
    cur.out?.on('error', (err) => {
      cur.writeError = err;
    });
    this.hooks.onStart?.(safe, header.size);
  }

  private async finish(end: z.infer<typeof FileEnd>): Promise<void> {
    const cur = this.current;
    if (cur === undefined || cur.header.id !== end.id) return;
    this.current = undefined;
    const sha256 = cur.hash.digest('hex');
    let ok = sha256 === end.sha256 && cur.bytes === cur.header.size;
    let path: string | undefined;
    if (cur.out !== undefined) {
      const out = cur.out;
      if (cur.writeError === undefined) await new Promise<void>((resolve) => out.end(() => resolve()));
      if (cur.writeError !== undefined) ok = false;
      if (ok && cur.tmpPath !== undefined && cur.finalPath !== undefined) {
        path = await place(cur.tmpPath, cur.finalPath, this.placing.overwrite === true).catch(() => undefined);
        if (path === undefined) ok = false;
      } else if (cur.tmpPath !== undefined) await unlink(cur.tmpPath).catch(() => undefined);
    }
    try {
      this.reply(JSON.stringify({ sigctl: 'file-ack', id: end.id, ok, bytes: cur.bytes, sha256 }));
    } catch {
      // channel gone: the sender times out waiting for the ack
    }
    this.hooks.onDone({ id: end.id, name: cur.header.name, bytes: cur.bytes, sha256, expectedSha256: end.sha256, ok, ms: this.now() - cur.started, path });
  }
}

/**
 * Moves a received file from `tmp` to `target`, or, when `target` exists and `overwrite` is off,
 * to the first free `name (1).ext`, `name (2).ext`, ... (link() refuses an existing name
 * atomically, so two transfers never take the same one). Returns the path used.
 */
async function place(tmp: string, target: string, overwrite: boolean): Promise<string> {
  if (overwrite) {
    await rename(tmp, target);
    return target;
  }
  const ext = extname(target);
  const stem = target.slice(0, target.length - ext.length);
  for (let n = 0; n < 10_000; n++) {
    const candidate = n === 0 ? target : `${stem} (${n})${ext}`;
    try {
      await link(tmp, candidate);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    await unlink(tmp);
    return candidate;
  }
  throw new Error(`no free name for ${target}`);
}
