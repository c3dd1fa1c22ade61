/**
 * Member records and node entries as the Redis store reads them back: parsed and checked, never
 * cast (another deployment's bug, or a hand edit, must not crash a node).
 */
import { z } from 'zod';
import { SigctlError } from '../protocol/errors.js';
import { Meta as MetaSchema, type Meta } from '../protocol/messages.js';
import type { MemberRecord, NodeStatus, ResumeRecord } from './store.js';

const Identity = z.object({ id: z.string(), name: z.string(), node: z.string(), seq: z.number() });

/** A node's entry in `GET /v1/nodes` (the JSON a node writes with its heartbeat). */
export const NodeInfo = z.object({
  id: z.string(),
  connections: z.number(),
  rooms: z.number(),
  startedAt: z.number(),
  updatedAt: z.number(),
  url: z.string().optional(),
});

function parseJson(text: unknown): unknown {
  try {
    return JSON.parse(String(text));
  } catch {
    return undefined;
  }
}

/** A member record from the members hash (identity JSON) and meta hash; undefined when corrupt. */
export function parseIdentity(json: unknown, metaJson: unknown): (MemberRecord & { seq: number }) | undefined {
  const id = Identity.safeParse(parseJson(json));
  if (!id.success) return undefined;
  // A corrupt meta entry must not break the room: treat it as empty.
  const parsed = MetaSchema.safeParse(parseJson(metaJson));
  const meta: Meta = parsed.success ? parsed.data : {};
  return { ...id.data, meta };
}

/** Member records in join order from parallel identity and meta arrays (a script's reply). */
export function records(identities: unknown, metas: unknown): MemberRecord[] {
  const ids = Array.isArray(identities) ? identities : [];
  const ms = Array.isArray(metas) ? metas : [];
  const out: Array<MemberRecord & { seq: number }> = [];
  for (let i = 0; i < ids.length; i++) {
    const rec = parseIdentity(ids[i], ms[i] ?? '{}');
    if (rec !== undefined) out.push(rec);
  }
  return out.sort((a, b) => a.seq - b.seq).map(({ seq: _seq, ...rec }) => rec);
}

/** Node entries from MGET; missing or corrupt ones are skipped. */
export function nodeInfos(values: readonly unknown[]): NodeStatus[] {
  const out: NodeStatus[] = [];
  for (const v of values) {
    const parsed = NodeInfo.safeParse(parseJson(v));
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** A member record inside a resume record (the JSON `putResume` writes). */
export const MemberRecordSchema = z.object({ id: z.string(), name: z.string(), meta: MetaSchema, node: z.string() });

/** A resume reservation as `putResume` writes it under `resume:<token>`. */
export const ResumeRecordSchema = z.object({ room: z.string(), member: MemberRecordSchema, expiresAt: z.number() });

/** Why a value read back from Redis was refused (logged with the INTERNAL code by the caller). */
export class CorruptRecordError extends SigctlError {
  constructor(what: string, issue: string) {
    super('INTERNAL', `corrupt ${what} in the room store (Redis): ${issue}`);
  }
}

/** A resume record read back with GETDEL; throws CorruptRecordError when it is not one. */
export function parseResumeRecord(text: string): ResumeRecord {
  const parsed = ResumeRecordSchema.safeParse(parseJson(text));
  if (!parsed.success) throw new CorruptRecordError('resume record', parsed.error.issues[0]?.message ?? 'not JSON');
  return parsed.data;
}
