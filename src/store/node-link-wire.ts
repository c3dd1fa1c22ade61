/**
 * What travels on a direct link between two nodes (node-links.ts), and the two things about links
 * that travel over Redis: each node's link address, and the marker that starts a link's traffic.
 *
 * On the link (a WebSocket, text messages):
 *
 * - dialer -> listener, first: the hello, `{"v":1,"origin":<node>,"link":<id>,"token":<token>}`;
 *   the token is the one the listener advertised in Redis (`node:<id>:link`). Wrong or missing:
 *   closed with 4401 (4400 for a hello that does not parse).
 * - listener -> dialer: `ok` once the hello is taken;
 * - dialer -> listener: E2 messages (redis-envelope.ts), exactly as they would go over Redis, one
 *   per link message or several in a bundle (`EB`, see bundle());
 * - listener -> dialer: `ack <seq>`: every message up to this stamp's seq is handed over.
 *
 * Over Redis, on the listener's node channel: the marker `EL <origin> <link id>`. The dialer
 * publishes it when the link is up, before the link's first message; the listener takes the link's
 * messages only after the marker, so whatever the dialer published over Redis before comes first.
 */
import { z } from 'zod';

/** A node's link address, advertised in Redis while the node lives. */
export const LinkAddress = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  token: z.string().regex(/^[0-9a-f]{32}$/),
});
export type LinkAddress = z.infer<typeof LinkAddress>;

/** Parses an advertised link address; undefined when absent or malformed. */
export function parseLinkAddress(text: string | null): LinkAddress | undefined {
  if (text === null) return undefined;
  try {
    const parsed = LinkAddress.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export const LinkHello = z.strictObject({
  v: z.literal(1),
  origin: z.string().regex(NODE_ID),
  link: z.string().regex(/^[0-9a-f]{16}$/),
  token: z.string().max(64),
});
export type LinkHello = z.infer<typeof LinkHello>;

/** The hello in a dialer's first message; undefined when it does not parse. */
export function parseHello(text: string): LinkHello | undefined {
  try {
    const parsed = LinkHello.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Close codes of a link refused by its listener. */
export const LinkClose = { badHello: 4400, badToken: 4401, superseded: 4409, noHello: 4408 } as const;

export const LINK_OK = 'ok';
const ACK = 'ack ';

export function ackMessage(seq: number): string {
  return `${ACK}${seq}`;
}

/** The seq an ack message acknowledges; undefined when it is not one. */
export function parseAck(text: string): number | undefined {
  if (!text.startsWith(ACK)) return undefined;
  const s = text.slice(ACK.length);
  return /^\d{1,15}$/.test(s) ? Number(s) : undefined;
}

const BUNDLE = 'EB ';

/** Several E2 messages in one link message (one write): `EB <length>,<length>...\n<message><message>...`. */
export function bundle(messages: readonly string[]): string {
  if (messages.length === 1) return messages[0]!;
  return `${BUNDLE}${messages.map((m) => m.length).join(',')}\n${messages.join('')}`;
}

/** The messages in a link message, in order; undefined when it is a malformed bundle. */
export function unbundle(text: string): string[] | undefined {
  if (!text.startsWith(BUNDLE)) return [text];
  const nl = text.indexOf('\n');
  if (nl < 0) return undefined;
  const out: string[] = [];
  let at = nl + 1;
  for (const f of text.slice(BUNDLE.length, nl).split(',')) {
    if (!/^\d{1,9}$/.test(f)) return undefined;
    const end = at + Number(f);
    if (end > text.length) return undefined;
    out.push(text.slice(at, end));
    at = end;
  }
  return at === text.length ? out : undefined;
}

const MARKER = 'EL ';

export function linkMarker(origin: string, linkId: string): string {
  return `${MARKER}${origin} ${linkId}`;
}

/** The origin and link id of a marker; undefined when the message is not one. */
export function parseMarker(message: string): { origin: string; link: string } | undefined {
  if (!message.startsWith(MARKER)) return undefined;
  const [origin, link, ...rest] = message.slice(MARKER.length).split(' ');
  if (origin === undefined || link === undefined || rest.length > 0) return undefined;
  return { origin, link };
}
