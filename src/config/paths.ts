/**
 * Walks the config schema to list its settable keys. Used to map SIGCTL_* environment variables to
 * keys, to coerce their string values, and to suggest a key when an unknown one is given.
 */
import type { z } from 'zod';
import { ConfigSchema } from './schema.js';

/** What an environment string must be coerced to for a key. */
export type LeafKind = 'string' | 'number' | 'boolean' | 'string[]' | 'json';

export interface ConfigKey {
  /** Dotted path, e.g. `rooms.resumeGraceMs`. */
  path: string;
  /** Environment variable that sets it, e.g. `SIGCTL_ROOMS_RESUME_GRACE_MS`. */
  env: string;
  kind: LeafKind;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  // default/optional/nullable/pipe wrappers keep the real type in def.innerType (zod 4).
  for (;;) {
    const def = s.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (def.innerType !== undefined) s = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) s = def.in;
    else return s;
  }
}

function kindOf(schema: z.ZodType): LeafKind {
  const s = unwrap(schema);
  switch (s.def.type) {
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const el = unwrap((s.def as unknown as { element: z.ZodType }).element);
      return el.def.type === 'string' ? 'string[]' : 'json';
    }
    case 'string':
    case 'enum':
      return 'string';
    default:
      return 'json';
  }
}

function toEnv(path: string): string {
  return 'SIGCTL_' + path.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function walk(schema: z.ZodType, prefix: string, out: ConfigKey[]): void {
  const s = unwrap(schema);
  if (s.def.type === 'object') {
    const shape = (s as unknown as z.ZodObject).shape;
    for (const [key, child] of Object.entries(shape)) {
      walk(child as z.ZodType, prefix === '' ? key : `${prefix}.${key}`, out);
    }
    return;
  }
  out.push({ path: prefix, env: toEnv(prefix), kind: kindOf(s) });
}

let cached: readonly ConfigKey[] | undefined;

/** Every leaf key of the config schema. */
export function configKeys(): readonly ConfigKey[] {
  if (cached === undefined) {
    const out: ConfigKey[] = [];
    walk(ConfigSchema, '', out);
    cached = Object.freeze(out);
  }
  return cached;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** The closest known name to `name`, if it is close enough to be a likely typo. */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  // An abbreviation (SIGCTL_LOG for SIGCTL_LOG_LEVEL, rooms.capacit) is closer than any edit distance says.
  const extended = candidates.filter((c) => c.length > name.length && c.toLowerCase().startsWith(name.toLowerCase()));
  if (extended.length > 0) return extended.reduce((a, b) => (b.length < a.length ? b : a));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
