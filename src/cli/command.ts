/**
 * Glue between commander and command implementations: option parsers that fail as usage errors,
 * and the `Runner` that gives each action its CliContext and turns its outcome into an exit code.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './context.js';
import type { GlobalOptions } from './output.js';

/** A command body: resolves to an exit code (default 0) or throws (mapped by exit.ts). */
export type CommandBody<O> = (ctx: CliContext, opts: O & GlobalOptions, cmd: Command) => Promise<number | void>;

/** Wraps a command body into a commander action. */
export type Runner = <O>(body: CommandBody<O>) => (...args: unknown[]) => Promise<void>;

/** Registers one command on the program. */
export type RegisterCommand = (program: Command, run: Runner) => void;

/** commander parser for an integer within [min, max]. */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer.');
    if (n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected an integer of at least ${min}.` : `expected an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

/** commander parser for a positive finite number (e.g. seconds, MB/s). */
export function numberOption(min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number.');
    if (n < min) throw new InvalidArgumentError(`expected a number >= ${min}.`);
    return n;
  };
}

/** commander parser for a comma-separated subset of `allowed` (e.g. `--compat stomp,raw`). */
export function listOption<T extends string>(allowed: readonly T[]): (value: string) => T[] {
  return (value) => {
    const items = value.split(',').map((v) => v.trim()).filter((v) => v !== '');
    const bad = items.filter((v) => !(allowed as readonly string[]).includes(v));
    if (items.length === 0 || bad.length > 0) throw new InvalidArgumentError(`expected a comma-separated list of ${allowed.join(', ')}${bad.length > 0 ? ` (not ${bad.join(', ')})` : ''}.`);
    return [...new Set(items)] as T[];
  };
}

/** commander parser that collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Counts repeated -v flags. */
export function increase(_value: string, previous: number | undefined): number {
  return (previous ?? 0) + 1;
}
