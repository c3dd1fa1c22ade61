/**
 * The browser call app and the browser client module, served as static files from the package's
 * dist/web/ (built by `npm run build`, docs/web.md). The set of files is fixed and read once at
 * start-up, with a gzip copy and an ETag each: no path from a request ever reaches the file system.
 *
 * Every response carries a strict Content-Security-Policy (scripts, styles and connections only
 * from this origin; no inline script), `nosniff` and no referrer. Files are revalidated on each
 * load (`no-cache` with an ETag): their names carry no hash, so a new build must not be hidden by
 * a cached old one; an unchanged file costs a 304.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

/** dist/web/ of this package: the same two levels up from src/server/, dist/server/ and dist/bundle/. */
const DEFAULT_DIR = new URL('../../dist/web/', import.meta.url);

/** Served file -> content type. `/` is index.html. */
const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'sigctl-client.js': 'text/javascript; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};

/** The page's policy: everything from this origin (WebSocket included), media from the page's own streams. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/** The loaded app. */
export interface WebApp {
  /** Answers GET/HEAD for one of the app's paths; false when `pathname` is not one. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
  /** Bytes of the app as a browser downloads it gzipped (every file once). */
  readonly gzipBytes: number;
}

/** Where the page finds the WebSocket path (the config's `path`, already limited to URL path characters). */
const WS_PATH_META = '<meta name="sigctl-ws-path" content="/ws">';

/** Reads the app's files; undefined when the app has not been built (dist/web/ missing). */
export async function loadWebApp(options: { wsPath: string; dir?: URL }): Promise<WebApp | undefined> {
  const dir = options.dir ?? DEFAULT_DIR;
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    let body: Buffer;
    try {
      body = await readFile(new URL(name, dir));
    } catch {
      return undefined;
    }
    if (name === 'index.html') body = Buffer.from(body.toString('utf8').replace(WS_PATH_META, `<meta name="sigctl-ws-path" content="${options.wsPath}">`));
    const gzip = gzipSync(body, { level: 9 });
    assets.set(`/${name}`, { type, body, gzip, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  const index = assets.get('/index.html')!;
  assets.set('/', index);
  const gzipBytes = [...Object.keys(FILES)].reduce((n, name) => n + assets.get(`/${name}`)!.gzip.length, 0);
  return {
    gzipBytes,
    handle(req, res, pathname) {
      const asset = assets.get(pathname);
      if (asset === undefined) return false;
      send(req, res, asset);
      return true;
    },
  };
}

function send(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const headers: Record<string, string | number> = {
    'content-type': asset.type,
    'cache-control': 'no-cache',
    etag: asset.etag,
    vary: 'accept-encoding',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Camera and microphone for this origin only; nothing else the page does not use.
    'permissions-policy': 'camera=(self), microphone=(self), geolocation=(), payment=()',
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  const body = gzip ? asset.gzip : asset.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}
