/**
 * Envelopes as they travel between nodes over Redis pub/sub: encoded by the publishing node,
 * decoded and checked by every receiver. A message that does not decode is another deployment's
 * bug (or a hand-made PUBLISH): the receiver logs it and drops it, it never reaches the hub.
 */
import { z } from 'zod';
import type { Envelope } from './store.js';
import { CorruptRecordError } from './redis-records.js';

/**
 * The envelope fields every node understands. Loose: a field added by a newer node passes through
 * to the hub (which ignores what it does not know) instead of being stripped here.
 */
export const EnvelopeSchema = z.looseObject({
  room: z.string(),
  to: z.string().optional(),
  except: z.string().optional(),
  frame: z.string(),
  queue: z.boolean().optional(),
  origin: z.string(),
  moved: z.string().optional(),
  presence: z.object({ id: z.string(), present: z.boolean() }).optional(),
});

/** The pub/sub message carrying `envelope`. */
export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

/** The envelope in a pub/sub message; throws CorruptRecordError when it is not one. */
export function decodeEnvelope(message: string): Envelope {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    throw new CorruptRecordError('envelope', 'not JSON');
  }
  const parsed = EnvelopeSchema.safeParse(json);
  if (!parsed.success) throw new CorruptRecordError('envelope', parsed.error.issues[0]?.message ?? 'invalid');
  return parsed.data;
}
