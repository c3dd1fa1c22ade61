/**
 * What travels on a direct link between two nodes (node-links.ts), and the two things about links
 * that travel over Redis: each node's link address, and the marker that starts a link's traffic.
 *
 * The dialer's upgrade request carries the token the listener advertised in Redis
 * (`node:<id>:link`) as `Authorization: Bearer <token>`, its node id and the link's id
 * (LinkHeaders); the listener refuses the upgrade (401) when any of them is wrong or missing, so
 * nobody without the token gets to send a frame. Then, on the link (a WebSocket, text messages):
 *
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
const LINK_ID = /^[0-9a-f]{16}$/;

/** The dialler names itself and the link in these headers of its upgrade request. */
export const LinkHeaders = { node: 'x-sigctl-node', link: 'x-sigctl-link' } as const;

/** The headers of a dialler's upgrade request: its node id, the link's id and the listener's token. */
export function linkRequestHeaders(origin: string, link: string, token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, [LinkHeaders.node]: origin, [LinkHeaders.link]: link };
}

/** What an upgrade request says about its dialler; undefined when a header is missing or malformed. */
export function parseLinkRequest(headers: Readonly<Record<string, string | string[] | undefined>>): { origin: string; link: string; token: string } | undefined {
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const auth = /^Bearer ([0-9a-f]{32})$/.exec(one('authorization') ?? '');
  const origin = one(LinkHeaders.node);
  const link = one(LinkHeaders.link);
  if (auth === null || origin === undefined || !NODE_ID.test(origin) || link === undefined || !LINK_ID.test(link)) return undefined;
  return { origin, link, token: auth[1]! };
}

/** Close codes of a link closed by its listener. */
export const LinkClose = { malformed: 4400, superseded: 4409 } as const;

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
