/**
 * Runs the built CLI (bin/sigctl -> dist/) as a user would, with a bounded wait.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/sigctl', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  /** Drop every inherited SIGCTL_* variable (a developer's shell must not steer the test). */
  cleanEnv?: boolean;
  /** Gets the child once spawned (e.g. to send it a signal). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Runs `sigctl ...args` to completion; kills it and rejects after `timeoutMs`. */
export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  return runNode(BIN, args, options);
}

/** Runs the Node.js script `script` (bin/sigctl, a bench/*.mjs) to completion; kills it and rejects after `timeoutMs`. */
export function runNode(script: string, args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  const { timeoutMs = 15_000 } = options;
  const name = script === BIN ? 'sigctl' : script;
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined };
  if (options.cleanEnv === true) for (const k of Object.keys(env)) if (k.startsWith('SIGCTL_')) delete env[k];
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    options.onSpawn?.(child);
  });
}
