/**
 * The package as users get it: the source tree as a fresh clone has it (no dist/) is packed with
 * `npm pack` (whose prepare must build everything, the CLI bundle included), the tarball is
 * installed into an empty ESM project, and the installed `sigctl` runs: --version, `serve` with a
 * health check, `peer --echo` + `peer --message` round trip, `import('sigctl')` and
 * `import('sigctl/peer')`. The install works offline from the npm cache `npm ci` filled
 * (--prefer-offline: the registry is asked only for what the cache lacks).
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, jsonLines } from '../helpers/peer-cli.js';

const root = join(import.meta.dirname, '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

let work: string;
let tarball: string;
let files: string[];
let project: string;
let bin: string;
const procs: CliProcess[] = [];

function start(args: readonly string[]): CliProcess {
  const child = spawn(bin, args, {
    cwd: project,
    env: { ...process.env, NO_COLOR: '1', SIGCTL_URL: undefined, SIGCTL_TOKEN: undefined, SIGCTL_CONFIG: undefined },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  const p = new CliProcess(child);
  procs.push(p);
  return p;
}

describe('the packed tarball, installed into an empty project', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sigctl-package-'));
    // A fresh clone: the tracked files (and new, not ignored ones), no dist/; node_modules as
    // `npm install` leaves it (linked: installing again would only repeat what npm ci did).
    const clone = join(work, 'clone');
    const listed = await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], root, 30_000);
    for (const file of listed.split('\0').filter((f) => f !== '')) {
      await mkdir(join(clone, dirname(file)), { recursive: true });
      await cp(join(root, file), join(clone, file)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err; // deleted in the work tree, not yet committed
      });
    }
    await symlink(join(root, 'node_modules'), join(clone, 'node_modules'));
    const packed = JSON.parse(await run(npm, ['pack', '--json', '--pack-destination', work], clone, 300_000)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, packed[0]!.filename);
    files = packed[0]!.files.map((f) => f.path);
    project = join(work, 'project');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'fresh-esm-project', private: true, type: 'module' }));
    await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project, 300_000);
    bin = join(project, 'node_modules', '.bin', 'sigctl');
  }, 600_000);

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.child.kill('SIGKILL');
      await p.exit(5_000).catch(() => undefined);
    }
  });
  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('holds the CLI bundle, the LICENSE and the user docs; no source maps, sources, tests or development docs', () => {
    expect(files).toContain('dist/bundle/main.js');
    expect(files).toContain('bin/sigctl');
    expect(files).toContain('LICENSE');
    expect(files).toContain('docs/peer.md');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /^(src|test|bench)\//.test(f))).toEqual([]);
    expect(files).not.toContain('docs/werift-patches.md');
    expect(files).not.toContain('BENCHMARKS.md');
  });

  it('`sigctl --version` prints the package version', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(await run(bin, ['--version'], project, 30_000)).toMatch(new RegExp(`^sigctl ${pkg.version.replace(/\./g, '\\.')} \\(protocol v\\d+\\)\\n$`));
  });

  it('`sigctl serve` answers /healthz; `peer --echo` and `peer --message` round-trip through it', async () => {
    const serve = start(['serve', '--port', '0', '--json', '--log-level', 'warn']);
    const banner = JSON.parse(await serve.waitForLine((l) => l.includes('"listening"'), 20_000, 'serve banner')) as { healthz: string; ws: string };
    const health = await fetch(banner.healthz, { signal: AbortSignal.timeout(10_000) });
    expect(health.status).toBe(200);

    const echo = start(['peer', '--room', 'pkg', '--url', banner.ws, '--echo', '--json', '--timeout', '60']);
    await echo.waitForLine((l) => l.includes('"type":"joined"'), 20_000, 'echo joined');
    const talker = start(['peer', '--room', 'pkg', '--url', banner.ws, '--message', 'hello from the tarball', '--count', '1', '--json', '--timeout', '45']);
    const { code } = await talker.exit(60_000);
    expect(code, talker.stderr).toBe(0);
    const messages = jsonLines(talker.lines).filter((e) => e.type === 'message');
    expect(messages.map((m) => m.text)).toEqual(['hello from the tarball']);
  }, 120_000);

  it('an unpacked tarball: `npm install && npm test` runs the package self-test (the README set-up works there too)', async () => {
    const unpacked = join(work, 'unpacked');
    await mkdir(unpacked);
    await run('tar', ['xzf', tarball, '-C', unpacked], work, 60_000);
    const dir = join(unpacked, 'package');
    await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund'], dir, 300_000);
    expect(await run(npm, ['test'], dir, 120_000)).toMatch(/package self-test passed/);
  }, 420_000);

  it("`import('sigctl')` and `import('sigctl/peer')` work from a fresh ESM project", async () => {
    const script = `
      const lib = await import('sigctl');
      const peer = await import('sigctl/peer');
      console.log(JSON.stringify({ version: lib.PROTOCOL_VERSION, error: typeof lib.SigctlError, client: typeof lib.SignalClient, session: typeof peer.createPeerSession, run: typeof peer.createPeerRun }));`;
    const out = JSON.parse(await run(process.execPath, ['--input-type=module', '-e', script], project, 60_000)) as Record<string, unknown>;
    expect(out).toEqual({ version: expect.any(Number) as unknown, error: 'function', client: 'function', session: 'function', run: 'function' });
  });
});
