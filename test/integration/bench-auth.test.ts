import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../../src/auth/principal.js';
import { runSignaling } from '../../src/bench/signaling.js';
import { loadConfig } from '../../src/config/load.js';
import { SigctlError } from '../../src/protocol/errors.js';
import { startServer } from '../../src/server/index.js';

/** A real authenticator on the server's upgrade path: one static bearer token. */
const staticToken: Authenticator = {
  required: true,
  authenticate(req) {
    if (req.headers.authorization !== 'Bearer bench-secret-token') return Promise.reject(new SigctlError('UNAUTHORIZED', 'bad token'));
    return Promise.resolve({ canSend: true });
  },
};

describe('bench against a deployment that requires auth', () => {
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('sends the token as a bearer header, and counts refused joins without it', async () => {
    const { config } = await loadConfig({ env: {}, flags: [{ path: 'port', flag: '--port', value: 0 }, { path: 'logLevel', flag: '--log-level', value: 'silent' }] });
    server = await startServer(config, { authenticator: staticToken });
    const base = { url: server.url, clients: 4, roomSize: 2, rate: 5, durationS: 0.5, ramp: false, rampBoundMs: 1_000, vsFloor: false, workers: 1, joinTimeoutMs: 3_000, env: {}, signal: AbortSignal.timeout(30_000) };
    const ok = await runSignaling({ ...base, token: 'bench-secret-token' });
    expect(ok.runs[0]!.join).toMatchObject({ ok: 4, failed: 0 });
    expect(ok.runs[0]!.steady.deliveredRatio).toBe(1);
    const refused = await runSignaling(base);
    expect(refused.runs[0]!.join).toMatchObject({ ok: 0, failed: 4, errors: { UNAUTHORIZED: 4 } });
  });
});
