/** The check every command applies to a signaling `--url` before connecting: a malformed one is a usage error (exit 2). */
import { SigctlError } from '../protocol/errors.js';

export function checkWsUrl(url: string, flag = '--url'): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SigctlError('USAGE', `${flag} ${JSON.stringify(url)} is not a URL (expected ws://host:port/ws or wss://...)`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new SigctlError('USAGE', `${flag} must be ws:// or wss://, got ${parsed.protocol}`);
}
