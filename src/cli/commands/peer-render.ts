/**
 * Human output of `sigctl peer`: results (messages, files) on stdout, connection lines and
 * progress on stderr, a spinner on a terminal (not in chat, where readline owns the line). Every
 * error is printed once, whether it arrives as an event or as the run's failure.
 */
import type { Ora } from 'ora';
import type { RunEvent, RunSummary } from '../../peer/run.js';
import type { Output } from '../output.js';
import { browserLink } from '../reachable.js';
import { formatBytes, formatDuration, formatRate } from '../units.js';

const ms = (v: number | undefined): string => (v === undefined ? '?' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);

function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(fraction * 100)}%`;
}

/** One progress line: bar, amount, rate and ETA (rate from the start of the transfer). */
export function progressLine(direction: 'sent' | 'received', file: string, bytes: number, total: number, elapsedMs: number): string {
  const parts = [`${direction === 'sent' ? 'sending' : 'receiving'} ${file}`, bar(total === 0 ? 1 : bytes / total), `${formatBytes(bytes)} / ${formatBytes(total)}`];
  const rate = formatRate(bytes, elapsedMs);
  if (rate !== undefined && bytes > 0) {
    parts.push(rate);
    if (bytes < total) parts.push(`ETA ${formatDuration(((total - bytes) * elapsedMs) / bytes)}`);
  }
  return parts.join('  ');
}

/** The line for a completed transfer. */
export function fileLine(e: Extract<RunEvent, { type: 'file' }>, status: string): string {
  const rate = formatRate(e.bytes, e.ms);
  const verb = e.direction === 'sent' ? `sent ${e.file} to` : `received ${e.file} from`;
  return `${verb} ${e.name}: ${formatBytes(e.bytes)} in ${formatDuration(e.ms)}${rate === undefined ? '' : ` (${rate})`}, ${status} ${e.sha256}${e.path === undefined ? '' : ` -> ${e.path}`}`;
}

export function summaryLine(s: RunSummary): string {
  const parts = [`${s.peersConnected} peer(s)`, `${s.messagesIn} in / ${s.messagesOut} out`];
  if (s.filesSent + s.filesReceived > 0) parts.push(`${s.filesSent} file(s) sent, ${s.filesReceived} received`);
  return `done (${s.reason}) after ${(s.durationMs / 1000).toFixed(1)} s: ${parts.join(', ')}`;
}

export interface HumanRenderer {
  onEvent(e: RunEvent): void;
  /** Prints the run's failure unless the same error was already printed as an event. */
  fatal(code: string, message: string): void;
  stop(): void;
}

export interface RendererOptions {
  /** Show a spinner (a terminal that is not in chat). */
  spinner: boolean;
  /** Wraps every write (the chat redraws its prompt after it). */
  around?: ((write: () => void) => void) | undefined;
  now?: () => number;
}

export function humanRenderer(out: Output, url: string, options: RendererOptions): HumanRenderer {
  const c = out.color;
  const around = options.around ?? ((write: () => void) => write());
  const now = options.now ?? (() => performance.now());
  // A pseudo-terminal that reports 0 columns makes ora redraw an "infinitely tall" spinner.
  const columns = (out.stderr as { columns?: number }).columns ?? 0;
  let spinner: Ora | undefined = options.spinner && columns > 0 ? out.spinner(`connecting to ${url}`) : undefined;
  const connected = new Set<string>();
  const printed = new Set<string>();
  const transferStart = new Map<string, number>();
  let lastProgress = '';

  const status = (): string => (connected.size === 0 ? 'waiting for peers' : `connected to ${connected.size} peer(s)`);
  const say = (line: string): void => {
    if (spinner !== undefined) spinner.stopAndPersist({ symbol: ' ', text: line }).start();
    else around(() => out.info(line));
  };
  const result = (line: string): void => {
    spinner?.clear();
    around(() => out.result(line));
    spinner?.render();
  };
  const error = (code: string, message: string): void => {
    const key = `${code}:${message}`;
    if (printed.has(key)) return;
    printed.add(key);
    spinner?.clear();
    around(() => out.error(code, message));
    spinner?.render();
  };
  const setStatus = (text: string): void => {
    if (spinner !== undefined) spinner.text = text;
  };

  const onEvent = (e: RunEvent): void => {
    switch (e.type) {
      case 'joined':
        say(`joined ${c.bold(e.room)} as ${e.self.name} (${e.self.id}); ${e.peers.length === 0 ? 'waiting for peers' : `${e.peers.length} peer(s) here`}`);
        say(`join from a browser: ${browserLink(url, e.room)}`);
        setStatus(e.peers.length === 0 ? 'waiting for peers' : 'negotiating');
        return;
      case 'peer-joined':
        setStatus(`negotiating with ${e.name}`);
        return;
      case 'peer-connected':
        connected.add(e.peer);
        say(
          `${c.green('connected')} ${c.bold(e.name)} via ${e.pair}${e.rttMs === undefined ? '' : ` (rtt ${ms(e.rttMs)})`}: ` +
            `signaling ${ms(e.signalingMs)} · ICE ${ms(e.iceMs)} · DTLS ${ms(e.dtlsMs)} · channel ${ms(e.channelMs)}`,
        );
        setStatus(status());
        return;
      case 'message':
        result(e.text !== undefined ? `${c.cyan(e.name)}: ${e.text}` : `${c.cyan(e.name)}: <${e.bytes ?? 0} bytes>`);
        return;
      case 'bytes': {
        const key = `${e.peer}:${e.direction}:${e.file}`;
        const started = transferStart.get(key) ?? now();
        transferStart.set(key, started);
        const line = progressLine(e.direction, e.file, e.bytes, e.total, now() - started);
        if (spinner !== undefined) setStatus(line);
        else if (out.verbose > 0 && line !== lastProgress) around(() => out.info(line));
        lastProgress = line;
        return;
      }
      case 'file':
        transferStart.delete(`${e.peer}:${e.direction}:${e.file}`);
        result(fileLine(e, e.ok ? c.green('sha256 ok') : c.red('sha256 MISMATCH')));
        setStatus(status());
        return;
      case 'peer-left':
        connected.delete(e.peer);
        say(`${c.yellow('left')} ${e.name} (${e.reason})`);
        setStatus(status());
        return;
      case 'reconnecting': {
        const line = `signaling connection lost (${e.code}); reconnecting in ${e.delayMs} ms (attempt ${e.attempt})`;
        if (spinner !== undefined) setStatus(line);
        else around(() => out.info(line));
        return;
      }
      case 'resumed':
        say('signaling connection resumed');
        setStatus(status());
        return;
      case 'error':
        // Per-peer and protocol errors as they happen; the run's fatal one through fatal().
        if (e.peer !== undefined || e.code === 'BAD_MESSAGE' || e.code === 'TRANSFER_FAILED') error(e.code, e.message);
        return;
      case 'patches':
        // A skipped patch is already a warning (the session's logger); the list only with -v.
        if (out.verbose > 0) around(() => out.debug(`werift ${e.weriftVersion ?? '?'}: ${e.applied.length} runtime patch(es) applied${e.skipped.length === 0 ? '' : `, ${e.skipped.length} skipped`}`));
        return;
      case 'summary':
        spinner?.stop();
        spinner = undefined;
        if (e.reason !== 'error') around(() => out.info(c.dim(summaryLine(e))));
        return;
    }
  };
  return {
    onEvent,
    fatal: error,
    stop: () => {
      spinner?.stop();
      spinner = undefined;
    },
  };
}
