/**
 * `sigctl rooms list|show|kick|close --url URL --token T [--json]`: the admin API of a running
 * server (docs/operations.md). The URL may be the WebSocket URL clients use (ws://host:port/ws) or
 * the HTTP base (http://host:port, with a path prefix behind a proxy); the token needs the admin
 * grant (`sigctl token --admin`). A refusal of the server keeps its catalogue code (UNAUTHORIZED,
 * FORBIDDEN, NOT_FOUND, ...) and its exit code; a server that cannot be reached is SERVER_UNREACHABLE.
 */
import { Option, type Command } from 'commander';
import { isErrorCode, SigctlError } from '../../protocol/errors.js';
import { intOption, type RegisterCommand } from '../command.js';
import type { CliContext } from '../context.js';

interface RoomsOptions {
  url: string;
  token?: string;
  limit?: number;
  json?: boolean;
}

interface RoomRow {
  id: string;
  members: number;
  capacity: number;
  ageMs?: number;
}

interface MemberRow {
  id: string;
  name: string;
  node: string;
  joinedAt?: number;
  meta: Record<string, unknown>;
}

/** The admin API's base URL for what the user gave: ws(s):// maps to http(s):// without the path. */
export function adminBase(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SigctlError('USAGE', `--url ${JSON.stringify(raw)}: expected ws://, wss://, http:// or https:// URL`);
  }
  const scheme = { 'ws:': 'http:', 'wss:': 'https:', 'http:': 'http:', 'https:': 'https:' }[url.protocol];
  if (scheme === undefined) throw new SigctlError('USAGE', `--url ${JSON.stringify(raw)}: expected ws://, wss://, http:// or https:// URL`);
  // A WebSocket URL names the signaling path; the admin API is at the root of the same origin.
  const path = url.protocol.startsWith('ws') ? '' : url.pathname.replace(/\/+$/, '');
  return new URL(`${scheme}//${url.host}${path}`);
}

/** One admin request; a refusal becomes a SigctlError with the server's code. */
async function call(ctx: CliContext, opts: RoomsOptions, method: 'GET' | 'DELETE', path: string): Promise<unknown> {
  if (opts.token === undefined || opts.token === '') throw new SigctlError('USAGE', '--token (or SIGCTL_TOKEN) is required: a token minted with sigctl token --admin');
  const base = adminBase(opts.url);
  const url = `${base.href.replace(/\/$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers: { authorization: `Bearer ${opts.token}`, accept: 'application/json' }, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]) });
  } catch (err) {
    if (ctx.signal.aborted) throw new SigctlError('ABORTED', 'interrupted');
    const why = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    throw new SigctlError(err instanceof Error && err.name === 'TimeoutError' ? 'TIMEOUT' : 'SERVER_UNREACHABLE', `${method} ${base.origin}${path}: ${why}`, { cause: err });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.ok && body !== undefined) return body;
  const error = typeof body === 'object' && body !== null && 'error' in body ? (body as { error: { code?: unknown; message?: unknown } }).error : undefined;
  const code = typeof error?.code === 'string' && isErrorCode(error.code) ? error.code : 'SERVER_UNREACHABLE';
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${res.status} from ${base.origin}${path}`;
  throw new SigctlError(code, message);
}

function age(ms: number | undefined): string {
  if (ms === undefined) return '?';
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
}

const seg = (s: string): string => encodeURIComponent(s);

async function list(ctx: CliContext, opts: RoomsOptions): Promise<void> {
  const rooms: RoomRow[] = [];
  let cursor: string | undefined;
  // Follows the pages until the end, or until --limit rooms are in hand.
  do {
    const want = opts.limit === undefined ? 1000 : Math.min(1000, opts.limit - rooms.length);
    const page = (await call(ctx, opts, 'GET', `/v1/rooms?limit=${want}${cursor === undefined ? '' : `&cursor=${seg(cursor)}`}`)) as { rooms: RoomRow[]; next?: string };
    rooms.push(...page.rooms);
    cursor = page.next;
  } while (cursor !== undefined && (opts.limit === undefined || rooms.length < opts.limit));
  if (ctx.out.json) {
    ctx.out.jsonLine({ rooms, ...(cursor === undefined ? {} : { next: cursor }) });
    return;
  }
  if (rooms.length === 0) {
    ctx.out.info('no rooms');
    return;
  }
  for (const line of table([['ROOM', 'MEMBERS', 'CAPACITY', 'AGE'], ...rooms.map((r) => [r.id, String(r.members), String(r.capacity), age(r.ageMs)])])) ctx.out.result(line);
}

async function show(ctx: CliContext, opts: RoomsOptions, room: string): Promise<void> {
  const detail = (await call(ctx, opts, 'GET', `/v1/rooms/${seg(room)}`)) as { room: RoomRow; members: MemberRow[] };
  if (ctx.out.json) {
    ctx.out.jsonLine(detail);
    return;
  }
  ctx.out.result(`room ${detail.room.id}: ${detail.room.members}/${detail.room.capacity} members, age ${age(detail.room.ageMs)}`);
  const rows = detail.members.map((m) => [m.id, m.name, m.node, m.joinedAt === undefined ? '?' : new Date(m.joinedAt).toISOString(), JSON.stringify(m.meta)]);
  for (const line of table([['MEMBER', 'NAME', 'NODE', 'JOINED', 'META'], ...rows])) ctx.out.result(line);
}

export const registerRooms: RegisterCommand = (program: Command, run) => {
  const rooms = program
    .command('rooms')
    .description('list, show, kick and close rooms of a running server (admin API; needs a token from sigctl token --admin)')
    .addHelpText(
      'after',
      `
Every subcommand takes --url (the ws:// URL clients use, or the http:// base; SIGCTL_URL) and
--token (an admin token; SIGCTL_TOKEN, preferred: a flag is visible in ps). Rooms and members of
every node are listed when the nodes share Redis; a kick or close reaches the node holding the member.

Examples:
  export SIGCTL_URL=ws://127.0.0.1:8080/ws SIGCTL_TOKEN=$(sigctl token --admin --sub ops --ttl 10m)
  sigctl rooms list                         ROOM MEMBERS CAPACITY AGE
  sigctl rooms show demo --json             members with name, meta, node, joined-at
  sigctl rooms kick demo 3kX9fQ2aB7c        the member gets KICKED, the others peer-left (kicked)
  sigctl rooms close demo                   every member of demo is kicked

Exit codes: 0 ok, 1 refused (UNAUTHORIZED, FORBIDDEN, NOT_FOUND) or unreachable, 2 usage.`,
    );
  const common = (cmd: Command): Command =>
    cmd
      .addOption(new Option('--url <url>', 'server URL: ws://host:port/ws or http://host:port').env('SIGCTL_URL').makeOptionMandatory())
      .addOption(new Option('--token <jwt>', 'admin token (sigctl token --admin)').env('SIGCTL_TOKEN'))
      .option('--json', 'print one JSON document (the API response)');
  common(rooms.command('list').description('rooms of every node: id, members, capacity, age'))
    .option('--limit <n>', 'at most this many rooms (default: all, fetched page by page)', intOption(1))
    .action(run<RoomsOptions>((ctx, opts) => list(ctx, opts)));
  common(rooms.command('show').description('a room: its members with name, meta, node and join time').argument('<room>', 'room id'))
    .action(run<RoomsOptions>((ctx, opts, cmd) => show(ctx, opts, cmd.args[0]!)));
  common(rooms.command('kick').description('remove a member from its room (error KICKED, close 4014; its resume token is void)').argument('<room>', 'room id').argument('<member>', 'member id (rooms show lists them)'))
    .action(
      run<RoomsOptions>(async (ctx, opts, cmd) => {
        const [room, member] = cmd.args as [string, string];
        const body = await call(ctx, opts, 'DELETE', `/v1/rooms/${seg(room)}/members/${seg(member)}`);
        if (ctx.out.json) ctx.out.jsonLine(body);
        else ctx.out.result(`kicked ${member} from ${room}`);
      }),
    );
  common(rooms.command('close').description('close a room: every member is kicked').argument('<room>', 'room id'))
    .action(
      run<RoomsOptions>(async (ctx, opts, cmd) => {
        const body = (await call(ctx, opts, 'DELETE', `/v1/rooms/${seg(cmd.args[0]!)}`)) as { kicked: number };
        if (ctx.out.json) ctx.out.jsonLine(body);
        else ctx.out.result(`closed ${cmd.args[0]!}: ${body.kicked} member(s) kicked`);
      }),
    );
};
