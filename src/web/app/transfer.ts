/**
 * Chat text and files on a data channel, framed exactly as `sigctl peer` frames them
 * (src/peer/transfer.ts, docs/peer.md "File transfer on the data channel"):
 *
 *   sender -> {"sigctl":"file","id":ID,"name":NAME,"size":N}       text
 *   sender -> binary chunks (16 KiB here), in order                 binary
 *   sender -> {"sigctl":"file-end","id":ID,"sha256":HEX}            text
 *   receiver -> {"sigctl":"file-ack","id":ID,"ok":BOOL,"bytes":N,"sha256":HEX}
 *
 * Any other text is a chat message. Control messages are parsed with checks on every field.
 */

/** Chunk size: every browser and werift take 16 KiB messages. */
const CHUNK_BYTES = 16 * 1024;
/** Keep at most this much queued on the channel (werift slows down when it grows to MiBs). */
const HIGH_WATER = 256 * 1024;
const ACK_TIMEOUT_MS = 30_000;

type Control =
  | { sigctl: 'file'; id: string; name: string; size: number }
  | { sigctl: 'file-end'; id: string; sha256: string }
  | { sigctl: 'file-ack'; id: string; ok: boolean; bytes: number; sha256: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 64;

/** A transfer control message, or undefined for chat text. */
export function parseControl(text: string): Control | undefined {
  if (!text.startsWith('{"sigctl"')) return undefined;
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(m) || !isId(m.id)) return undefined;
  if (m.sigctl === 'file' && typeof m.name === 'string' && m.name.length > 0 && m.name.length <= 255 && isCount(m.size)) return { sigctl: 'file', id: m.id, name: m.name, size: m.size };
  if (m.sigctl === 'file-end' && typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/.test(m.sha256)) return { sigctl: 'file-end', id: m.id, sha256: m.sha256 };
  if (m.sigctl === 'file-ack' && typeof m.ok === 'boolean' && isCount(m.bytes) && typeof m.sha256 === 'string') return { sigctl: 'file-ack', id: m.id, ok: m.ok, bytes: m.bytes, sha256: m.sha256 };
  return undefined;
}

/** Hex SHA-256 of `data`. */
export async function sha256Hex(data: BufferSource): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function drained(channel: RTCDataChannel): Promise<void> {
  if (channel.bufferedAmount <= HIGH_WATER) return Promise.resolve();
  return new Promise((resolve, reject) => {
    channel.bufferedAmountLowThreshold = HIGH_WATER / 2;
    const done = (): void => {
      channel.removeEventListener('bufferedamountlow', done);
      channel.removeEventListener('close', done);
      if (channel.readyState === 'open') resolve();
      else reject(new Error('the data channel closed'));
    };
    channel.addEventListener('bufferedamountlow', done);
    channel.addEventListener('close', done);
  });
}

/** Per-peer file traffic: outgoing acks awaited, one incoming file at a time. */
export class FileLink {
  private acks = new Map<string, (ack: Extract<Control, { sigctl: 'file-ack' }>) => void>();
  private incoming: { header: Extract<Control, { sigctl: 'file' }>; chunks: ArrayBuffer[]; bytes: number } | undefined;

  constructor(
    private readonly channel: RTCDataChannel,
    private readonly hooks: {
      progress(id: string, name: string, bytes: number, total: number, direction: 'sent' | 'received'): void;
      received(id: string, name: string, blob: Blob, ok: boolean): void;
    },
  ) {}

  /** Sends `file`; resolves true when the receiver confirmed the same SHA-256 and size. */
  async send(file: File, id: string): Promise<boolean> {
    const data = await file.arrayBuffer();
    const sha256 = await sha256Hex(data);
    const ack = new Promise<Extract<Control, { sigctl: 'file-ack' }> | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ACK_TIMEOUT_MS);
      this.acks.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
    try {
      this.channel.send(JSON.stringify({ sigctl: 'file', id, name: file.name || 'file', size: data.byteLength }));
      for (let at = 0; at < data.byteLength; at += CHUNK_BYTES) {
        await drained(this.channel);
        const chunk = data.slice(at, at + CHUNK_BYTES);
        this.channel.send(chunk);
        this.hooks.progress(id, file.name, at + chunk.byteLength, data.byteLength, 'sent');
      }
      if (data.byteLength === 0) this.hooks.progress(id, file.name, 0, 0, 'sent');
      this.channel.send(JSON.stringify({ sigctl: 'file-end', id, sha256 }));
      const reply = await ack;
      return reply !== undefined && reply.ok && reply.sha256 === sha256 && reply.bytes === data.byteLength;
    } finally {
      this.acks.delete(id);
    }
  }

  /** Takes a message from the channel; false when it is chat text. */
  handle(data: string | ArrayBuffer): boolean {
    if (typeof data !== 'string') {
      const cur = this.incoming;
      if (cur === undefined) return true; // stray binary: not chat either
      cur.chunks.push(data);
      cur.bytes += data.byteLength;
      this.hooks.progress(cur.header.id, cur.header.name, cur.bytes, cur.header.size, 'received');
      return true;
    }
    const c = parseControl(data);
    if (c === undefined) return false;
    if (c.sigctl === 'file') this.incoming = { header: c, chunks: [], bytes: 0 };
    else if (c.sigctl === 'file-ack') this.acks.get(c.id)?.(c);
    else void this.finish(c);
    return true;
  }

  private async finish(end: Extract<Control, { sigctl: 'file-end' }>): Promise<void> {
    const cur = this.incoming;
    if (cur?.header.id !== end.id) return;
    this.incoming = undefined;
    const blob = new Blob(cur.chunks);
    const sha256 = await sha256Hex(await blob.arrayBuffer());
    const ok = sha256 === end.sha256 && cur.bytes === cur.header.size;
    if (this.channel.readyState === 'open') this.channel.send(JSON.stringify({ sigctl: 'file-ack', id: end.id, ok, bytes: cur.bytes, sha256 }));
    this.hooks.received(end.id, cur.header.name, blob, ok);
  }
}
