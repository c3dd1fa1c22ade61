import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { redact } from '../../src/config/redact.js';
import { isSigctlError } from '../../src/protocol/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigctl-config-redis-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function loadError(env: Record<string, string>): Promise<{ code: string; message: string }> {
  try {
    await loadConfig({ cwd: dir, env });
  } catch (err) {
    if (isSigctlError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected loadConfig to fail');
}

describe('redis.sentinel and redis.cluster', () => {
  it('reads a Sentinel set from the environment, addresses as strings or objects', async () => {
    const { config } = await loadConfig({
      cwd: dir,
      env: { SIGCTL_REDIS_SENTINEL_NAME: 'mymaster', SIGCTL_REDIS_SENTINEL_SENTINELS: '["10.0.0.1:26379",{"host":"10.0.0.2","port":26380},"[::1]:26381"]' },
    });
    expect(config.redis.sentinel).toEqual({ name: 'mymaster', sentinels: ['10.0.0.1:26379', { host: '10.0.0.2', port: 26380 }, '[::1]:26381'] });
    expect(config.redis.url).toBeUndefined();
  });

  it('reads cluster nodes as a comma-separated list', async () => {
    const { config } = await loadConfig({ cwd: dir, env: { SIGCTL_REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000, redis://10.0.0.2:7000' } });
    expect(config.redis.cluster).toEqual({ nodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'] });
  });

  it('refuses two topologies at once with CONFIG_INVALID naming both', async () => {
    const err = await loadError({ SIGCTL_REDIS_URL: 'redis://127.0.0.1:6379', SIGCTL_REDIS_CLUSTER_NODES: 'redis://127.0.0.1:7000' });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('redis.url and redis.cluster');
  });

  it('refuses a sentinel address without a port', async () => {
    const err = await loadError({ SIGCTL_REDIS_SENTINEL_NAME: 'm', SIGCTL_REDIS_SENTINEL_SENTINELS: '["10.0.0.1"]' });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('host:port');
  });

  it('never shows the Sentinel password', () => {
    const text = JSON.stringify(redact({ redis: { sentinel: { name: 'm', sentinels: ['a:1'], password: 'hunter2-sentinel' } } }));
    expect(text).not.toContain('hunter2');
  });
});
