/**
 * Suites that need a system program (redis-server, turnserver, chromium, openssl, tmux, nginx) declare it
 * here, so `npm test` passes on a machine with only Node:
 *
 *   describe('redis store', requires('redis-server'), () => { ... });
 *
 * A program that is not on PATH skips the suite (its tests are counted and named in ONE summary
 * line printed by test/helpers/requires-reporter.ts at the end of the run, with the apt-get line
 * that installs them). Under CI (`CI=true`, as .ci/run sets) a missing program fails the run
 * instead: CI must run everything.
 *
 * Helpers start the program by the path found here (programPath), never by a hard-coded one.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The Debian/Ubuntu package that provides each program. */
export const PACKAGES = {
  'redis-server': 'redis-server',
  turnserver: 'coturn',
  chromium: 'chromium',
  openssl: 'openssl',
  tmux: 'tmux',
  nginx: 'nginx',
} as const;

/** A system program some suites need. */
export type Program = keyof typeof PACKAGES;

declare module 'vitest' {
  interface TaskMeta {
    /** Programs this test needs that are not installed (set on skipped suites by requires()). */
    missingPrograms?: Program[];
  }
}

const found = new Map<Program, string | undefined>();

/** The absolute path of `program` on PATH, or undefined when it is not installed. */
export function programPath(program: Program, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env === process.env && found.has(program)) return found.get(program);
  let hit: string | undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      hit = candidate;
      break;
    } catch {
      // not here
    }
  }
  if (env === process.env) found.set(program, hit);
  return hit;
}

/** The path of a program a running suite declared with requires(); throws if it is missing. */
export function mustFind(program: Program): string {
  const path = programPath(program);
  if (path === undefined) throw new Error(`${program} is not installed: apt-get install -y ${PACKAGES[program]} (declare it with requires('${program}'))`);
  return path;
}

/** The apt-get line that installs `programs`. */
export function installLine(programs: readonly Program[]): string {
  return `apt-get install -y ${[...new Set(programs.map((p) => PACKAGES[p]))].join(' ')}`;
}

/**
 * Suite options for a suite that needs `programs`: skipped (and reported) when one is missing, a
 * collection error under CI=true.
 */
export function requires(...programs: Program[]): { skip: boolean; meta: { missingPrograms?: Program[] } } {
  const missing = programs.filter((p) => programPath(p) === undefined);
  if (missing.length === 0) return { skip: false, meta: {} };
  if (process.env.CI === 'true') {
    throw new Error(`CI=true and ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed: ${installLine(missing)}`);
  }
  return { skip: true, meta: { missingPrograms: missing } };
}
