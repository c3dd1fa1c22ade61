/**
 * Notices that whoever read our stdout pipe went away (`sigctl peer --json | head -1` in an empty
 * room) without waiting for the next write to fail with EPIPE. A pipe's write end gets no event
 * when its reader closes, and Node offers no poll() on it, so on Linux we look where the kernel
 * shows it: the processes of our own process group (a shell pipeline) holding the pipe open in
 * /proc/PID/fd. When none holds it any more, the reader is gone.
 *
 * Conservative by construction: no /proc, stdout not a pipe (Node's child_process hands its
 * children socket pairs, not pipes), or no other holder in our process
 * group at the start (a named FIFO, a reader outside the pipeline, a container runtime): nothing
 * is watched, and EPIPE on the next write stays the only signal. A holder whose fds cannot be
 * read counts as still reading.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The process group in /proc/PID/stat (field 5, after the parenthesised command name). */
function processGroup(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2];
  } catch {
    return undefined;
  }
}

/** True when `pid` has `target` open (or its fds cannot be read: assume it does). */
function holds(pid: string, target: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT'; // exited: no; not readable: assume yes
  }
  return fds.some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === target;
    } catch {
      return false;
    }
  });
}

/** Other processes of our group holding `target`. */
function holdersInGroup(self: string, group: string, target: string): string[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && p !== self);
  } catch {
    return [];
  }
  return pids.filter((pid) => processGroup(pid) === group && holds(pid, target));
}

/**
 * Calls `onGone` once when the last reader of the pipe on `fd` (in our process group) has closed
 * it. Returns a function that stops watching. A no-op where it cannot tell (see above).
 */
export function watchPipeReaders(fd: number, onGone: () => void, intervalMs = 500): () => void {
  const self = String(process.pid);
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return () => undefined;
  }
  const group = processGroup(self);
  if (!target.startsWith('pipe:') || group === undefined) return () => undefined;
  // Scanned now, while the reader surely holds the pipe (a fast `head -1` may be gone by the first
  // tick, and then nothing would tell it from a reader outside the group). Only a shell pipeline
  // pays for it: Node's child_process hands out socket pairs, not pipes.
  let holders = holdersInGroup(self, group, target);
  if (holders.length === 0) return () => undefined; // cannot tell: leave it to EPIPE
  const timer = setInterval(() => {
    holders = holders.filter((pid) => holds(pid, target));
    if (holders.length > 0) return;
    holders = holdersInGroup(self, group, target); // the pipe may have been handed to another process
    if (holders.length > 0) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
