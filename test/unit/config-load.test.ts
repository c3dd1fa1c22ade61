import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { redact, REDACTED } from '../../src/config/redact.js';
import { configKeys } from '../../src/config/paths.js';
import { isSigctlError } from '../../src/protocol/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigctl-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function loadError(options: Parameters<typeof loadConfig>[0]): Promise<{ code: string; message: string }> {
  try {
    await loadConfig(options);
  } catch (err) {
    if (isSigctlError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected loadConfig to fail');
}

describe('loadConfig', () => {
  it('returns frozen defaults when nothing is configured', async () => {
    const { config, file } = await loadConfig({ cwd: dir, env: {} });
    expect(file).toBeUndefined();
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8080);
    expect(config.rooms.capacity).toBe(2);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.rooms)).toBe(true);
  });

  it('layers file < env < flags and records each source', async () => {
    writeFileSync(join(dir, '.sigctlrc.json'), JSON.stringify({ port: 9000, host: '0.0.0.0', rooms: { capacity: 4 } }));
    const loaded = await loadConfig({
      cwd: dir,
      env: { SIGCTL_PORT: '9100', SIGCTL_ROOMS_RESUME_GRACE_MS: '2500' },
      flags: [{ path: 'port', flag: '--port', value: 9200 }],
    });
    expect(loaded.config.port).toBe(9200);
    expect(loaded.config.host).toBe('0.0.0.0');
    expect(loaded.config.rooms.capacity).toBe(4);
    expect(loaded.config.rooms.resumeGraceMs).toBe(2500);
    expect(loaded.sources.get('port')).toBe('flag:--port');
    expect(loaded.sources.get('rooms.resumeGraceMs')).toBe('env:SIGCTL_ROOMS_RESUME_GRACE_MS');
    expect(loaded.sources.get('host')).toMatch(/^file:.*\.sigctlrc\.json$/);
  });

  it('finds package.json#sigctl and an explicit --config file', async () => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', sigctl: { port: 7001 } }));
    expect((await loadConfig({ cwd: dir, env: {} })).config.port).toBe(7001);
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ port: 7002 }));
    expect((await loadConfig({ cwd: dir, env: {}, configFile: 'other.json' })).config.port).toBe(7002);
  });

  it('names an unknown key and suggests the right one', async () => {
    writeFileSync(join(dir, '.sigctlrc.json'), JSON.stringify({ rooms: { capacty: 3 } }));
    const err = await loadError({ cwd: dir, env: {} });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('unknown key "rooms.capacty"');
    expect(err.message).toContain('did you mean "rooms.capacity"');
  });

  it('names a key with a bad value and where it came from', async () => {
    const err = await loadError({ cwd: dir, env: {}, flags: [{ path: 'port', flag: '--port', value: 70000 }] });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('"port"');
    expect(err.message).toContain('flag:--port');
  });

  it('takes redis.links.coalesceMs from the environment (default 0) and refuses one over 100 ms', async () => {
    expect((await loadConfig({ cwd: dir, env: {} })).config.redis.links.coalesceMs).toBe(0);
    expect((await loadConfig({ cwd: dir, env: { SIGCTL_REDIS_LINKS_COALESCE_MS: '20' } })).config.redis.links.coalesceMs).toBe(20);
    const err = await loadError({ cwd: dir, env: { SIGCTL_REDIS_LINKS_COALESCE_MS: '250' } });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('redis.links.coalesceMs');
    expect(err.message).toContain('SIGCTL_REDIS_LINKS_COALESCE_MS');
  });

  it('rejects a non-numeric environment value and an unknown SIGCTL_ variable', async () => {
    expect((await loadError({ cwd: dir, env: { SIGCTL_PORT: 'eighty' } })).message).toContain('SIGCTL_PORT');
    const unknown = await loadError({ cwd: dir, env: { SIGCTL_PROT: '1' } });
    expect(unknown.message).toContain('unknown environment variable SIGCTL_PROT');
    expect(unknown.message).toContain('SIGCTL_PORT');
  });

  it('reports a missing --config file and an unparsable one', async () => {
    expect((await loadError({ cwd: dir, env: {}, configFile: 'nope.json' })).code).toBe('CONFIG_NOT_FOUND');
    writeFileSync(join(dir, 'bad.json'), '{\n  "port": 8080,\n  "host": "x",,\n}\n');
    const bad = await loadError({ cwd: dir, env: {}, configFile: 'bad.json' });
    expect(bad.code).toBe('CONFIG_INVALID');
    // One code frame (cosmiconfig's message has it twice), the reason, not the squashed file.
    expect(bad.message.match(/> 3 \|/g)).toHaveLength(1);
    expect(bad.message).toMatch(/^cannot parse config file .*bad\.json:\n/);
    expect(bad.message).toMatch(/Expected double-quoted property name/);
    expect(bad.message).not.toContain('while parsing');
  });

  it('takes the config file from SIGCTL_CONFIG (--config wins)', async () => {
    writeFileSync(join(dir, 'from-env.json'), JSON.stringify({ port: 9123 }));
    writeFileSync(join(dir, 'from-flag.json'), JSON.stringify({ port: 9124 }));
    const viaEnv = await loadConfig({ cwd: dir, env: { SIGCTL_CONFIG: 'from-env.json' } });
    expect(viaEnv.config.port).toBe(9123);
    expect(viaEnv.file).toBe(join(dir, 'from-env.json'));
    expect((await loadConfig({ cwd: dir, env: { SIGCTL_CONFIG: 'from-env.json' }, configFile: 'from-flag.json' })).config.port).toBe(9124);
    const missing = await loadError({ cwd: dir, env: { SIGCTL_CONFIG: 'nope.json' } });
    expect(missing.code).toBe('CONFIG_NOT_FOUND');
    expect(missing.message).toContain('SIGCTL_CONFIG');
  });

  it('suggests the variable an unknown one abbreviates (SIGCTL_LOG -> SIGCTL_LOG_LEVEL)', async () => {
    expect((await loadError({ cwd: dir, env: { SIGCTL_LOG: 'debug' } })).message).toContain('did you mean SIGCTL_LOG_LEVEL?');
  });

  it('parses list values from the environment', async () => {
    const { config } = await loadConfig({ cwd: dir, env: { SIGCTL_ICE_STUN: 'stun:a:3478, stun:b:3478' } });
    expect(config.ice.stun).toEqual(['stun:a:3478', 'stun:b:3478']);
  });

  it('maps every key to a distinct environment variable', () => {
    const envs = configKeys().map((k) => k.env);
    expect(new Set(envs).size).toBe(envs.length);
    expect(envs).toContain('SIGCTL_ROOMS_RESUME_GRACE_MS');
  });
});

describe('redact', () => {
  it('hides TURN credentials, secrets and URL passwords', () => {
    const shown = redact({
      ice: { turn: [{ urls: ['turn:x'], username: 'u', credential: 'pw', secret: 's3' }] },
      auth: { jwt: { secret: 'topsecret-topsecret' } },
      redis: { url: 'redis://user:hunter2@localhost:6379/0' },
      webhooks: [{ url: 'https://hooks.example.com/in', secret: 'whsec-not-shown-0123' }],
    });
    const text = JSON.stringify(shown);
    expect(text).not.toContain('pw');
    expect(text).not.toContain('s3"');
    expect(text).not.toContain('topsecret');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('whsec-not-shown');
    expect(text).toContain('https://hooks.example.com/in');
    expect(text).toContain(REDACTED);
    expect(text).toContain('"username":"u"');
  });
});
