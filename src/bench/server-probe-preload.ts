/**
 * The preload entry (`node --import .../server-probe-preload.js`) the signaling bench puts into the
 * local servers it starts: answers memory requests on the IPC channel (see server-probe.ts). It is
 * a process entry point of its own, so it touches `process`; nothing imports it.
 */
import { isMemoryProbeRequest, readMemory } from './server-probe.js';

if (typeof process.send === 'function') {
  const send = process.send.bind(process);
  process.on('message', (msg: unknown) => {
    if (isMemoryProbeRequest(msg)) void readMemory(msg.id).then((reading) => send(reading));
  });
  // The handler must not keep a server alive once it was told to stop.
  setImmediate(() => process.channel?.unref());
}
