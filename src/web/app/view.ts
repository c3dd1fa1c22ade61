/**
 * The page's DOM: state on <body>, tiles, chat log, transfers, notices. Remote data (names, chat
 * text, file names) only ever goes in as textContent. The attributes the automation contract
 * names (docs/web.md) are written here and nowhere else.
 */
import type { PeerStats } from './stats.js';

/** body[data-state]: the automation contract's states. */
export type PageState = 'idle' | 'joining' | 'waiting' | 'connected' | 'error';

/** Finds an element the page must have. */
export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`page element #${id} missing`);
  return el as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const onOff = (v: boolean): string => (v ? 'on' : 'off');
const fmt = (v: number | undefined, unit: string): string => (v === undefined ? '-' : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${unit}`);

/** The call view. */
export class View {
  private readonly tiles = byId('tiles');
  private readonly log = byId('chat-log');
  private readonly transfers = byId('transfers');
  private readonly status = byId('status');
  private readonly notice = byId('notice');

  setState(state: PageState): void {
    document.body.dataset.state = state;
  }

  get state(): PageState {
    return (document.body.dataset.state ?? 'idle') as PageState;
  }

  say(text: string): void {
    this.status.textContent = text;
  }

  warn(text: string | undefined): void {
    this.notice.hidden = text === undefined;
    this.notice.textContent = text ?? '';
  }

  showLocal(stream: MediaStream, audio: boolean, video: boolean): void {
    const local = byId<HTMLVideoElement>('local-video');
    if (local.srcObject !== stream) local.srcObject = stream;
    const tile = byId('local-tile');
    tile.dataset.audio = onOff(audio);
    tile.dataset.video = onOff(video);
    const a = document.querySelector<HTMLButtonElement>('[data-testid=toggle-audio]')!;
    const v = document.querySelector<HTMLButtonElement>('[data-testid=toggle-video]')!;
    a.setAttribute('aria-pressed', String(!audio));
    a.textContent = audio ? 'Mute' : 'Unmute';
    v.setAttribute('aria-pressed', String(!video));
    v.textContent = video ? 'Camera off' : 'Camera on';
  }

  /** Adds or updates the tile of a remote member. */
  tile(id: string, name: string, meta: Record<string, unknown>): HTMLElement {
    let tile = this.find(id);
    if (tile === undefined) {
      tile = el('figure', { class: 'tile', 'data-peer-id': id });
      const video = el('video', { playsinline: '', autoplay: '', 'aria-label': `video of ${name}` });
      const caption = el('figcaption');
      caption.append(el('span', { class: 'name' }), el('span', { class: 'flags' }));
      const stats = el('details', { class: 'stats' });
      stats.append(el('summary', {}, 'Connection'), el('dl'));
      tile.append(video, caption, stats);
      this.tiles.append(tile);
    }
    const audio = meta.audio === true;
    const video = meta.video === true;
    tile.dataset.audio = onOff(audio);
    tile.dataset.video = onOff(video);
    tile.querySelector('.name')!.textContent = name;
    tile.querySelector('video')!.setAttribute('aria-label', `video of ${name}`);
    tile.querySelector('.flags')!.textContent = [audio ? '' : 'muted', video ? '' : 'camera off'].filter(Boolean).join(' · ');
    return tile;
  }

  attach(id: string, stream: MediaStream): void {
    const video = this.find(id)?.querySelector('video');
    if (video === null || video === undefined) return;
    if (video.srcObject !== stream) video.srcObject = stream;
    // Autoplay with sound needs a user gesture on some browsers: fall back to muted playback.
    video.play().catch(() => {
      video.muted = true;
      void video.play().catch(() => undefined);
    });
  }

  remove(id: string): void {
    this.find(id)?.remove();
  }

  clearTiles(): void {
    for (const t of this.tiles.querySelectorAll('[data-peer-id]')) t.remove();
  }

  stats(id: string, s: PeerStats, pc: RTCPeerConnection): void {
    const dl = this.find(id)?.querySelector('dl');
    if (dl === null || dl === undefined) return;
    const rows: Array<[string, string]> = [
      ['path', s.pair],
      ['RTT', fmt(s.rttMs, 'ms')],
      ['in', fmt(s.inKbps, 'kbit/s')],
      ['out', fmt(s.outKbps, 'kbit/s')],
      ['lost', String(s.packetsLost)],
      ['signaling', pc.signalingState],
      ['connection', pc.connectionState],
    ];
    dl.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    const tile = this.find(id);
    if (tile !== undefined) tile.dataset.pair = s.pair;
  }

  chat(from: string, text: string, own: boolean): void {
    const item = el('li', { class: own ? 'own' : '' });
    item.append(el('b', {}, from), document.createTextNode(`: ${text}`));
    this.log.append(item);
    item.scrollIntoView({ block: 'nearest' });
  }

  /** Creates or updates a transfer row. */
  transfer(key: string, label: string, bytes: number, total: number): HTMLElement {
    let row = this.transfers.querySelector<HTMLElement>(`[data-transfer="${CSS.escape(key)}"]`);
    if (row === null) {
      row = el('li', { 'data-transfer': key });
      row.append(el('span', { class: 'label' }), el('progress', { max: '1', value: '0' }));
      this.transfers.append(row);
    }
    row.querySelector('.label')!.textContent = label;
    const bar = row.querySelector('progress')!;
    bar.max = Math.max(total, 1);
    bar.value = total === 0 ? 1 : bytes;
    bar.setAttribute('aria-label', `${label}: ${total === 0 ? 100 : Math.floor((bytes / total) * 100)}%`);
    return row;
  }

  transferDone(key: string, label: string, ok: boolean, blob?: Blob, name?: string): void {
    const row = this.transfer(key, label, 1, 1);
    row.dataset.done = ok ? 'ok' : 'failed';
    if (blob !== undefined && name !== undefined && ok) {
      const link = el('a', { href: URL.createObjectURL(blob), download: name }, `save ${name}`);
      row.append(link);
    }
  }

  private find(id: string): HTMLElement | undefined {
    return this.tiles.querySelector<HTMLElement>(`[data-peer-id="${CSS.escape(id)}"]`) ?? undefined;
  }
}
