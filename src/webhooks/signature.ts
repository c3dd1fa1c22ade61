/**
 * Webhook signatures: `Sigctl-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * The timestamp is inside the MAC so a captured request cannot be replayed outside the tolerance;
 * `v1` names the scheme so a later one can be added beside it without breaking receivers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The request header that carries the signature. */
export const WEBHOOK_SIGNATURE_HEADER = 'Sigctl-Signature';

/** Default window (seconds) in which a signature's timestamp is accepted, either side of now. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

function mac(secret: string, t: number, body: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest();
}

/** The header value for `body` signed at unix time `t` (seconds). */
export function signWebhook(secret: string, body: string | Buffer, t: number): string {
  return `t=${t},v1=${mac(secret, t, body).toString('hex')}`;
}

export interface VerifyWebhookInput {
  /** The receiver's copy of the shared secret. */
  secret: string;
  /** The raw request body, exactly as received (not re-serialized JSON). */
  body: string | Buffer;
  /** The `Sigctl-Signature` header (undefined when absent). */
  header: string | string[] | undefined;
  /** Accepted clock difference in seconds (default 300). */
  toleranceSeconds?: number;
  /** Unix seconds now (default: the system clock). */
  now?: number;
}

/** The verdict: `ok` with the signed time, or the reason it was refused. */
export type WebhookVerdict = { ok: true; timestamp: number } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

/**
 * Checks a webhook request's signature in constant time. Accepts the header when any `v1` value
 * matches (a sender rotating secrets may send several).
 */
export function verifyWebhook(input: VerifyWebhookInput): WebhookVerdict {
  const header = Array.isArray(input.header) ? input.header[0] : input.header;
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  let t: number | undefined;
  const candidates: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(Buffer.from(value, 'hex'));
  }
  if (t === undefined || candidates.length === 0) return { ok: false, reason: 'malformed' };
  const now = input.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (input.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS)) return { ok: false, reason: 'stale' };
  const expected = mac(input.secret, t, input.body);
  return candidates.some((c) => timingSafeEqual(c, expected)) ? { ok: true, timestamp: t } : { ok: false, reason: 'mismatch' };
}
