/**
 * `sigctl config print [--json]`: the effective configuration with the source of every key and
 * secrets redacted; `sigctl config check` validates and exits 0 or 2.
 */
import type { Command } from 'commander';
import type { LoadedConfig } from '../../config/load.js';
import type { RegisterCommand } from '../command.js';
import type { CliContext } from '../context.js';
import type { GlobalOptions } from '../output.js';

function getPath(tree: unknown, path: string): unknown {
  let node = tree;
  for (const p of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[p];
  }
  return node;
}

function sourceOf(loaded: LoadedConfig, path: string): string {
  const exact = loaded.sources.get(path);
  if (exact !== undefined) return exact;
  for (const [p, s] of loaded.sources) if (p.startsWith(`${path}.`)) return s;
  return 'default';
}

/** The source column of `config print`: where the value came from, and the variable that would set it. */
export function sourceNote(source: string, env: string): string {
  if (source === `env:${env}`) return `env ${env}`;
  if (source.startsWith('file:')) return `file ${source.slice('file:'.length)} (or ${env})`;
  if (source.startsWith('flag:')) return `flag ${source.slice('flag:'.length)}`;
  return `default (or ${env})`;
}

/** What `config check` validated: the file and the environment variables it took values from. */
export function checkSummary(loaded: LoadedConfig): string {
  const envs = [...new Set([...loaded.sources.values()].filter((s) => s.startsWith('env:')).map((s) => s.slice('env:'.length)))].sort();
  const parts: string[] = [];
  if (loaded.file !== undefined) parts.push(loaded.file);
  if (envs.length > 0) parts.push(`environment ${envs.join(', ')}`);
  return parts.length === 0 ? 'defaults only (no config file, no SIGCTL_* variables)' : `${parts.join(' + ')} over the defaults`;
}

// The config modules (zod, cosmiconfig) load when a config command runs, not for every command.
async function load(ctx: CliContext, opts: GlobalOptions): Promise<LoadedConfig> {
  const { loadConfig } = await import('../../config/load.js');
  return loadConfig({ configFile: opts.config, cwd: ctx.cwd, env: ctx.env });
}

export const registerConfig: RegisterCommand = (program: Command, run) => {
  const config = program
    .command('config')
    .description('inspect the effective configuration (defaults < config file < SIGCTL_* environment)')
    .addHelpText(
      'after',
      `
Examples:
  sigctl config print                          every key, its value and where it came from
  sigctl config print --json | jq .config.port
  sigctl config check --config ./sigctl.json   exit 0 when valid, 2 with the bad keys named
  SIGCTL_CONFIG=./sigctl.json sigctl config check

Config file, the first found from the current directory up: package.json#sigctl, .sigctlrc (JSON
or YAML), .sigctlrc.json, .sigctlrc.yaml, .sigctlrc.yml, .sigctlrc.js/.cjs/.mjs, .config/sigctlrc*,
sigctl.config.js/.cjs/.mjs. --config FILE (or SIGCTL_CONFIG=FILE) names one instead.`,
    );
  config
    .command('print')
    .description('print the effective config (defaults < file < SIGCTL_* env) with sources; secrets redacted')
    .option('--json', 'print one JSON document: {file, config, sources}')
    .action(
      run(async (ctx, opts) => {
        const loaded = await load(ctx, opts);
        const [{ configKeys }, { redact }] = await Promise.all([import('../../config/paths.js'), import('../../config/redact.js')]);
        const shown = redact(loaded.config) as Record<string, unknown>;
        if (ctx.out.json) {
          const sources: Record<string, string> = {};
          for (const key of configKeys()) sources[key.path] = sourceOf(loaded, key.path);
          ctx.out.jsonLine({ file: loaded.file ?? null, config: shown, sources });
          return;
        }
        ctx.out.result(`# config file: ${loaded.file ?? '(none found)'}`);
        for (const key of configKeys()) {
          const value = getPath(shown, key.path);
          const src = sourceOf(loaded, key.path);
          ctx.out.result(`${key.path} = ${value === undefined ? '(unset)' : JSON.stringify(value)}  ${ctx.out.color.dim(`# ${sourceNote(src, key.env)}`)}`);
        }
      }),
    );
  config
    .command('check')
    .description('validate the configuration and exit 0 (valid) or 2 (invalid, with the bad keys named)')
    .action(
      run(async (ctx, opts) => {
        const loaded = await load(ctx, opts);
        ctx.out.result(`config ok: ${checkSummary(loaded)}`);
      }),
    );
};
