/**
 * Secrets that are published placeholders: the values config.example.json ships with. A server
 * started from the example as is would accept tokens anyone can mint and hand out TURN credentials
 * anyone can compute, so `serve` refuses them (PLACEHOLDER_SECRET) instead of warning.
 */
import type { Config } from './schema.js';

/** Every value starting with this is a placeholder (the example's secrets all do). */
const PREFIX = 'change-me';
/** The example's static TURN credential. */
const KNOWN = new Set(['demo-password']);

function isPlaceholder(value: string | undefined): boolean {
  return value !== undefined && (value.toLowerCase().startsWith(PREFIX) || KNOWN.has(value));
}

/** The dotted paths of secrets in `config` that still hold a placeholder value. */
export function placeholderSecrets(config: Readonly<Config>): string[] {
  const found: string[] = [];
  if (isPlaceholder(config.auth.jwt?.secret)) found.push('auth.jwt.secret');
  config.ice.turn.forEach((turn, i) => {
    if (isPlaceholder(turn.secret)) found.push(`ice.turn.${i}.secret`);
    if (isPlaceholder(turn.credential)) found.push(`ice.turn.${i}.credential`);
  });
  return found;
}
