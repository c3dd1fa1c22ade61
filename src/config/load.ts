/**
 * Loads the configuration: schema defaults < config file (cosmiconfig, module `sigctl`) <
 * SIGCTL_* environment < command-line flags. Validates once and returns a deep-frozen result with
 * the source of every key, so `sigctl config print` can say where each value came from.
 */
import { stripVTControlCharacters } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cosmiconfig } from 'cosmiconfig';
import { SigctlError } from '../protocol/errors.js';
import { configKeys, suggest, type ConfigKey } from './paths.js';
import { ConfigSchema, type Config } from './schema.js';

/** Where a value came from. */
export type ConfigSource = 'default' | `file:${string}` | `env:${string}` | `flag:${string}`;

/** A value set on the command line, with the flag that set it (for error messages and `config print`). */
export interface FlagValue {
  path: string;
  flag: string;
  value: unknown;
}

export interface LoadOptions {
  /** Explicit file from --config (else SIGCTL_CONFIG in `env`); otherwise cosmiconfig searches `cwd`. */
  configFile?: string | undefined;
  cwd?: string;
  env?: Readonly<Record<string, string | undefined>>;
  flags?: readonly FlagValue[];
}

export interface LoadedConfig {
  config: Readonly<Config>;
  /** Source of every leaf key that was set by something other than the defaults. */
  sources: ReadonlyMap<string, ConfigSource>;
  file: string | undefined;
}

/** SIGCTL_* variables read by commands other than the config loader. */
const NON_CONFIG_ENV = new Set(['SIGCTL_URL', 'SIGCTL_TOKEN', 'SIGCTL_CONFIG']);

type Tree = Record<string, unknown>;

function isPlainObject(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const p of parts.slice(0, -1)) {
    const next = node[p];
    if (!isPlainObject(next)) node[p] = {};
    node = node[p] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? merge(b, v) : v;
  }
  return out;
}

function leaves(tree: unknown, prefix: string, out: string[]): void {
  if (isPlainObject(tree)) {
    for (const [k, v] of Object.entries(tree)) leaves(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else if (Array.isArray(tree) && tree.some(isPlainObject)) {
    tree.forEach((v, i) => leaves(v, `${prefix}.${i}`, out));
  } else {
    out.push(prefix);
  }
}

function coerce(key: ConfigKey, raw: string): unknown {
  const fail = (why: string): never => {
    throw new SigctlError('CONFIG_INVALID', `${key.env}=${JSON.stringify(raw)} (config key ${key.path}): ${why}`, {
      details: { key: key.path, source: `env:${key.env}` },
    });
  };
  switch (key.kind) {
    case 'string':
      return raw;
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) fail('expected a number');
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return fail('expected true or false');
    case 'string[]':
      if (raw.trim().startsWith('[')) return parseJson(key, raw, fail);
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    case 'json':
      return parseJson(key, raw, fail);
  }
}

function parseJson(_key: ConfigKey, raw: string, fail: (why: string) => never): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return fail('expected JSON');
  }
}

function readEnv(env: Readonly<Record<string, string | undefined>>): { tree: Tree; sources: Map<string, ConfigSource> } {
  const byEnv = new Map(configKeys().map((k) => [k.env, k]));
  const tree: Tree = {};
  const sources = new Map<string, ConfigSource>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('SIGCTL_') || raw === undefined || NON_CONFIG_ENV.has(name)) continue;
    const key = byEnv.get(name);
    if (key === undefined) {
      const hint = suggest(name, [...byEnv.keys()]);
      throw new SigctlError('CONFIG_INVALID', `unknown environment variable ${name}${hint === undefined ? '' : ` (did you mean ${hint}?)`}`, {
        details: { source: `env:${name}` },
      });
    }
    setPath(tree, key.path, coerce(key, raw));
    sources.set(key.path, `env:${name}`);
  }
  return { tree, sources };
}

/**
 * cosmiconfig's parse error for humans: its message holds the code frame twice (once from its own
 * wrapper, once from the parser's) and the whole file squashed onto one line; keep one frame and
 * the reason.
 */
export function parseFailure(err: unknown, source?: string): string {
  // The parser's code frame is coloured whenever its colour library thinks so (any CI=true
  // environment included): the message is plain text, coloured or not by the CLI's own output.
  const raw = stripVTControlCharacters(err instanceof Error ? err.message : String(err));
  const blocks: string[] = [];
  for (const block of raw.split(/\n\s*\n/)) {
    const text = block
      .replace(/^\s*(JSON|YAML|JS)? ?Error in [^\n]*:\s*$/m, '')
      .replace(/ while parsing '[^]*$/, '')
      .replace(/\s+$/, '');
    if (text.trim() !== '' && !blocks.includes(text)) blocks.push(text);
  }
  // Node 22+ adds "(line L column C)" to JSON.parse's message, and then the parser makes no frame.
  if (source !== undefined && !/^> \d+ \|/m.test(raw)) {
    const frame = frameAt(source, raw);
    if (frame !== undefined) blocks.unshift(frame);
  }
  return blocks.join('\n');
}

/** A code frame (two lines of context, a caret) at the line and column or offset a parse error names. */
function frameAt(source: string, message: string): string | undefined {
  const lines = source.split(/\r?\n/);
  let line: number;
  let column: number;
  const lc = /line (\d+) column (\d+)/.exec(message);
  const pos = /at position (\d+)/.exec(message);
  if (lc !== null) {
    line = Number(lc[1]);
    column = Number(lc[2]);
  } else if (pos !== null) {
    const before = source.slice(0, Number(pos[1])).split(/\r?\n/);
    line = before.length;
    column = before[before.length - 1]!.length + 1;
  } else {
    return undefined;
  }
  if (line < 1 || line > lines.length) return undefined;
  const width = String(Math.min(lines.length, line + 2)).length;
  const out: string[] = [];
  for (let n = Math.max(1, line - 2); n <= Math.min(lines.length, line + 2); n++) {
    out.push(`${n === line ? '>' : ' '} ${String(n).padStart(width)} | ${lines[n - 1] ?? ''}`.replace(/\s+$/, ''));
    if (n === line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`);
  }
  return out.join('\n');
}

async function readFile(options: LoadOptions): Promise<{ tree: Tree; file: string | undefined }> {
  const explorer = cosmiconfig('sigctl');
  let result: Awaited<ReturnType<typeof explorer.search>>;
  const named = options.configFile ?? nonEmpty(options.env?.SIGCTL_CONFIG);
  const via = options.configFile !== undefined ? '--config' : 'SIGCTL_CONFIG';
  let file: string | undefined;
  try {
    if (named !== undefined) {
      file = resolve(options.cwd ?? '.', named);
      if (!existsSync(file)) throw new SigctlError('CONFIG_NOT_FOUND', `config file not found: ${file} (from ${via})`);
      result = await explorer.load(file);
    } else {
      result = await explorer.search(options.cwd);
    }
  } catch (err) {
    if (err instanceof SigctlError) throw err;
    const where = file ?? (err as { filepath?: unknown }).filepath;
    let source: string | undefined;
    try {
      source = typeof where === 'string' ? readFileSync(where, 'utf8') : undefined;
    } catch {
      source = undefined;
    }
    throw new SigctlError('CONFIG_INVALID', `cannot parse config file${typeof where === 'string' ? ` ${where}` : ''}:\n${parseFailure(err, source)}`, { cause: err });
  }
  if (result === null || result.isEmpty === true) return { tree: {}, file: result?.filepath };
  if (!isPlainObject(result.config)) {
    throw new SigctlError('CONFIG_INVALID', `config file ${result.filepath} must contain a JSON object`);
  }
  const { $schema: _ignored, ...tree } = result.config;
  return { tree, file: result.filepath };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

/** Loads, merges, validates and freezes the configuration. Throws SigctlError(CONFIG_*) on bad input. */
export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const { tree: fileTree, file } = await readFile(options);
  const { tree: envTree, sources } = readEnv(options.env ?? {});
  const all = new Map<string, ConfigSource>();
  const fileLeaves: string[] = [];
  leaves(fileTree, '', fileLeaves);
  for (const p of fileLeaves) if (p !== '') all.set(p, `file:${file ?? '?'}`);
  for (const [p, s] of sources) all.set(p, s);

  const flagTree: Tree = {};
  for (const f of options.flags ?? []) {
    if (f.value === undefined) continue;
    setPath(flagTree, f.path, f.value);
    all.set(f.path, `flag:${f.flag}`);
  }

  const merged = merge(merge(fileTree, envTree), flagTree);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const known = configKeys().map((k) => k.path);
    const lines = parsed.error.issues.map((issue) => {
      const at = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        return issue.keys
          .map((k) => {
            const full = at === '' ? k : `${at}.${k}`;
            const hint = suggest(full, known);
            return `unknown key "${full}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}${describeSource(all, full, file)}`;
          })
          .join('\n');
      }
      return `"${at === '' ? '(root)' : at}": ${issue.message}${describeSource(all, at, file)}`;
    });
    throw new SigctlError('CONFIG_INVALID', `invalid configuration:\n  ${lines.join('\n  ')}`, {
      details: { keys: parsed.error.issues.map((i) => i.path.join('.')) },
    });
  }
  return { config: deepFreeze(parsed.data), sources: all, file };
}

function describeSource(all: ReadonlyMap<string, ConfigSource>, path: string, file: string | undefined): string {
  const exact = all.get(path);
  if (exact !== undefined) return ` [from ${exact}]`;
  for (const [p, s] of all) if (p.startsWith(`${path}.`)) return ` [from ${s}]`;
  return file === undefined ? '' : ` [in ${file}]`;
}
