/**
 * Runs Debian's coturn (`turnserver` on PATH; suites declare requires('turnserver')) on 127.0.0.1 for TURN tests: no config file, REST
 * credentials (`use-auth-secret`), a small relay port range, loopback peers allowed, logs captured.
 * Ready means it answers a STUN Binding request; every wait is bounded and stop() always kills it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stunPacket, udpClient } from './auth-stun.js';
import { mustFind } from './requires.js';
import type { Cleanups } from './cleanups.js';


export interface Coturn {
  port: number;
  realm: string;
  secret: string;
  /** `turn:127.0.0.1:<port>?transport=udp` */
  url: string;
  /** Everything coturn logged so far. */
  log(): string;
  stop(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * Starts coturn and waits (at most `readyMs`) until it answers STUN. A port that was free when
 * picked may be taken before coturn binds it (other test files run in parallel): then it retries
 * on a fresh port, at most 3 times.
 */
export async function startCoturn(options: { secret?: string; readyMs?: number } = {}): Promise<Coturn> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCoturnOnce(options);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !/Address already in use/.test(err.message)) throw err;
    }
  }
}

async function startCoturnOnce(options: { secret?: string; readyMs?: number }): Promise<Coturn> {
  const secret = options.secret ?? randomBytes(16).toString('hex');
  const realm = 'sigctl.test';
  const port = await freeUdpPort();
  // A random 64-port relay range below the kernel's ephemeral range (32768-60999), which port 0 uses.
  const minPort = 20_000 + randomInt(0, 190) * 64;
  const dir = mkdtempSync(join(tmpdir(), 'sigctl-coturn-'));
  const child: ChildProcess = spawn(
    mustFind('turnserver'),
    [
      '-n',
      '--listening-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--relay-ip=127.0.0.1',
      `--min-port=${minPort}`,
      `--max-port=${minPort + 63}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      `--realm=${realm}`,
      '--no-tls',
      '--no-dtls',
      '--no-tcp-relay',
      // UDP only: TURN over UDP is what the tests use, and fewer sockets mean fewer port clashes.
      '--no-tcp',
      '--no-rfc5780',
      '--allow-loopback-peers',
      '--no-cli',
      '--relay-threads=1',
      '--log-file=stdout',
      '--simple-log',
      `--pidfile=${join(dir, 'turnserver.pid')}`,
      `--userdb=${join(dir, 'turndb')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const deadline = Date.now() + (options.readyMs ?? 10_000);
  const probe = await udpClient('127.0.0.1');
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}:\n${output}`);
      // coturn retries a failed bind for ever: give up at once and let the caller pick another port.
      if (/Address already in use/.test(output)) throw new Error(`turnserver: Address already in use on port ${port}:\n${output}`);
      if ((await probe.send(stunPacket(0x0001), port, 200)) !== undefined) break;
      if (Date.now() > deadline) throw new Error(`turnserver did not answer STUN on 127.0.0.1:${port} within ${options.readyMs ?? 10_000} ms:\n${output}`);
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    probe.close();
  }
  return { port, realm, secret, url: `turn:127.0.0.1:${port}?transport=udp`, log: () => output, stop };
}

/** startCoturn() for one test: stopped by `cleanups` after it. */
export async function coturnFor(cleanups: Cleanups, options: { secret?: string; readyMs?: number } = {}): Promise<Coturn> {
  return cleanups.add(await startCoturn(options), (t) => t.stop());
}
