/**
 * The call app's entry point: the landing view (new room or join), the parameters of the page's
 * address (docs/web.md: `room`, `name`, `autojoin`, `relay`, `capacity`, `#token=`), and the
 * buttons and forms of the call view.
 */
import { Call } from './call.js';
import { byId, View } from './view.js';

const NAME_KEY = 'sigctl.name';
/** Set while this tab is in a call: a reload joins the same room again at once. */
const IN_CALL_KEY = 'sigctl.in-call';
const ROOM_RE = /^[A-Za-z0-9._:-]{1,128}$/;

function randomRoom(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The token from the address's fragment (`#token=...`): a fragment never goes to the server in a request line. */
function tokenFromFragment(): string | undefined {
  const value = new URLSearchParams(location.hash.slice(1)).get('token');
  return value === null || value === '' ? undefined : value;
}

function wsUrl(): string {
  const path = document.querySelector<HTMLMetaElement>('meta[name=sigctl-ws-path]')?.content ?? '/ws';
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

function storage(kind: 'local' | 'session'): Storage | undefined {
  try {
    return kind === 'local' ? localStorage : sessionStorage;
  } catch {
    return undefined; // storage disabled: nothing is remembered
  }
}

function main(): void {
  const view = new View();
  const params = new URLSearchParams(location.search);
  const form = byId<HTMLFormElement>('join-form');
  const nameInput = byId<HTMLInputElement>('name');
  const roomInput = byId<HTMLInputElement>('room');
  const tokenInput = byId<HTMLInputElement>('token');
  const relayInput = byId<HTMLInputElement>('relay');
  nameInput.value = params.get('name') ?? storage('local')?.getItem(NAME_KEY) ?? '';
  roomInput.value = params.get('room') ?? '';
  relayInput.checked = params.get('relay') === '1';
  tokenInput.value = tokenFromFragment() ?? '';
  const capacityParam = Number(params.get('capacity'));
  const capacity = Number.isInteger(capacityParam) && capacityParam > 0 ? capacityParam : undefined;
  let call: Call | undefined;

  const join = async (): Promise<void> => {
    const room = roomInput.value.trim();
    const name = nameInput.value.trim();
    if (!ROOM_RE.test(room) || name === '' || call !== undefined) return;
    storage('local')?.setItem(NAME_KEY, name);
    storage('session')?.setItem(IN_CALL_KEY, room);
    const relayOnly = relayInput.checked;
    // The address keeps what a reload needs; the share link has the room (and relay) only.
    const share = new URL('/', location.href);
    share.searchParams.set('room', room);
    if (relayOnly) share.searchParams.set('relay', '1');
    if (params.get('room') !== room) history.replaceState(null, '', `${share.pathname}${share.search}${location.hash}`);
    byId<HTMLInputElement>('share').value = share.toString();
    byId('landing').hidden = true;
    byId('call').hidden = false;
    document.title = `${room} · sigctl call`;
    const token = tokenInput.value.trim();
    call = new Call({ wsUrl: wsUrl(), room, name, token: token === '' ? undefined : token, relayOnly, capacity, view });
    try {
      await call.start();
    } catch (err) {
      view.setState('error');
      const message = err instanceof Error ? err.message : String(err);
      view.warn(await explain(message, token));
      view.say('Could not join');
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void join();
  });
  byId('new-room').addEventListener('click', () => {
    roomInput.value = randomRoom();
    if (nameInput.value.trim() === '') nameInput.focus();
    else form.requestSubmit();
  });
  byId('copy').addEventListener('click', () => void navigator.clipboard?.writeText(byId<HTMLInputElement>('share').value).catch(() => undefined));
  byId('leave').addEventListener('click', () => {
    storage('session')?.removeItem(IN_CALL_KEY);
    void call?.leave().finally(() => location.assign('/'));
  });
  document.querySelector('[data-testid=toggle-audio]')!.addEventListener('click', () => void call?.toggleAudio());
  document.querySelector('[data-testid=toggle-video]')!.addEventListener('click', () => void call?.toggleVideo());
  const chat = document.querySelector<HTMLFormElement>('form[data-testid=chat]')!;
  const chatInput = chat.querySelector('input')!;
  chat.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = chatInput.value;
    if (text.trim() === '' || call === undefined) return;
    if (call.sendChat(text) === 0) view.say('Nobody is connected yet: the message was not sent to anyone');
    chatInput.value = '';
  });
  const fileForm = byId<HTMLFormElement>('file-form');
  fileForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const file = byId<HTMLInputElement>('file').files?.[0];
    if (file !== undefined) void call?.sendFile(file);
  });
  // Leaving the page leaves the room (a clean close: the others see the member go at once).
  addEventListener('pagehide', () => void call?.leave());

  const again = storage('session')?.getItem(IN_CALL_KEY) === roomInput.value && roomInput.value !== '';
  if ((params.get('autojoin') === '1' || again) && roomInput.value !== '' && nameInput.value.trim() !== '') void join();
  else view.setState('idle');
}

/** A refused WebSocket upgrade looks like any failure in a browser: ask the server why (it answers 401/403 on the ICE endpoint too). */
async function explain(message: string, token: string): Promise<string> {
  try {
    const res = await fetch('/v1/ice-servers', { headers: token === '' ? {} : { authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (res.status === 401) return 'The server requires a valid token: put it in the Token field under Options (or in the link as #token=...).';
    if (res.status === 403) return 'The server refused this token for this room or origin.';
  } catch {
    // the server is not reachable at all
  }
  return message;
}

main();
