/** Bounded HTTP helpers for auth tests: a refused WebSocket upgrade's status and JSON body, and GET. */
import WebSocket, { type ClientOptions } from 'ws';

export interface Refusal {
  status: number;
  body: { error?: { code?: string; message?: string } };
}

/** Opens `url`; resolves with the HTTP refusal, or rejects if the upgrade is accepted or `ms` passes. */
export function refusedUpgrade(url: string, options: ClientOptions = {}, ms = 3000): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer to the upgrade of ${url} within ${ms} ms`));
    }, ms);
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        clearTimeout(timer);
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Refusal['body'] });
        } catch {
          reject(new Error(`refusal body is not JSON: ${text}`));
        }
      });
    });
    ws.on('open', () => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`upgrade of ${url} was accepted`));
    });
    ws.on('error', () => undefined);
  });
}

/** GET with a timeout; returns the status and parsed JSON body. */
export async function getJson(url: string, headers: Record<string, string> = {}, ms = 3000): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(ms) });
  return { status: res.status, body: (await res.json()) };
}
