/**
 * The browser app as served by `serve` (src/server/web.ts): content types, the strict CSP, caching
 * by ETag, gzip, the WebSocket path handed to the page, `web.enabled: false`, the size budget, and
 * a self-contained client module. Needs `npm run build` (dist/web/).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../src/server/index.js';
import { startTestServer } from '../helpers/server-harness.js';

const servers: SignalingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(overrides: Parameters<typeof startTestServer>[0] = {}): Promise<SignalingServer> {
  const s = await startTestServer(overrides);
  servers.push(s);
  return s;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

const FILES = { '/': 'text/html', '/app.js': 'text/javascript', '/app.css': 'text/css', '/sigctl-client.js': 'text/javascript', '/icon.svg': 'image/svg+xml' };

describe('serve: the browser app', () => {
  it('serves every file with its content type, a strict CSP, nosniff and revalidation by ETag', async () => {
    const s = await server();
    for (const [path, type] of Object.entries(FILES)) {
      const r = await get(`${s.httpUrl}${path}`);
      expect(r.status, path).toBe(200);
      expect(String(r.headers['content-type']), path).toContain(type);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['cache-control']).toBe('no-cache');
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe');
      const again = await get(`${s.httpUrl}${path}`, { 'if-none-match': String(r.headers.etag) });
      expect(again.status, path).toBe(304);
      expect(again.body.length).toBe(0);
    }
    // No inline script: every <script> loads a file.
    const html = (await get(`${s.httpUrl}/`)).body.toString();
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/app.js">']);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('sends gzip when asked, answers HEAD without a body, and tells the page its WebSocket path', async () => {
    const s = await server({ path: '/signal' });
    const plain = await get(`${s.httpUrl}/app.js`);
    const zipped = await get(`${s.httpUrl}/app.js`, { 'accept-encoding': 'gzip, br' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    const head = await get(`${s.httpUrl}/`, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect((await get(`${s.httpUrl}/`)).body.toString()).toContain('<meta name="sigctl-ws-path" content="/signal">');
    expect(s.webUrl).toBe(`${s.httpUrl}/`);
  });

  it('serves nothing of the app with web.enabled false', async () => {
    const s = await server({ web: { enabled: false } });
    for (const path of Object.keys(FILES)) {
      const r = await get(`${s.httpUrl}${path}`);
      expect(r.status, path).toBe(404);
      expect(JSON.parse(r.body.toString())).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    expect(s.webUrl).toBeUndefined();
  });

  it('keeps the whole app under 100 KB gzipped, with a client module that imports nothing', async () => {
    const s = await server();
    let total = 0;
    for (const path of Object.keys(FILES)) {
      if (path === '/') continue;
      total += (await get(`${s.httpUrl}${path}`, { 'accept-encoding': 'gzip' })).body.length;
    }
    total += (await get(`${s.httpUrl}/`, { 'accept-encoding': 'gzip' })).body.length;
    expect(total).toBeLessThan(100 * 1024);
    const client = readFileSync(new URL('../../dist/web/sigctl-client.js', import.meta.url), 'utf8');
    // One ES module for the browser: no import of another module, nothing from Node.
    expect(client).not.toMatch(/\bimport\s*[\w{*]|\bimport\s*\(|require\(|node:/);
    expect(client).toMatch(/export\s*\{/);
    const app = readFileSync(new URL('../../dist/web/app.js', import.meta.url), 'utf8');
    expect(app.match(/from\s*["'][^"']+["']/g)).toEqual(['from"./sigctl-client.js"']);
  });
});
