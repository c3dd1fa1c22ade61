/**
 * CPU per `dgram` send of a 1200-byte datagram to an IP address on loopback, with Node's default
 * lookup (dns.lookup: the send happens a tick later) and with the udp-lookup patch's lookup (the
 * send happens inside send()). Alternates the two modes, each in a fresh child process.
 *
 *   node .bench-out/werift/bench/werift-udp-send.js [--sends 20000] [--rounds 3]
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { literalLookup } from '../src/peer/patches/udp-lookup.js';

const { values: args } = parseArgs({
  options: {
    sends: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    child: { type: 'string' },
  },
});

async function measure(mode: string, sends: number): Promise<number> {
  const rx = createSocket('udp4');
  rx.on('message', () => undefined);
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
  const port = rx.address().port;
  let listening = false;
  const tx = mode === 'literal' ? createSocket({ type: 'udp4', lookup: literalLookup(() => listening) }) : createSocket('udp4');
  await new Promise<void>((r) => tx.bind(0, '127.0.0.1', () => r()));
  listening = true;
  const buf = Buffer.alloc(1200, 1);
  const before = process.cpuUsage();
  // Batches of a tenth, yielding between them as an event loop would.
  for (let batch = 0; batch < 10; batch++) {
    for (let i = 0; i < sends / 10; i++) tx.send(buf, port, '127.0.0.1');
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 200));
  const used = process.cpuUsage(before);
  tx.close();
  rx.close();
  return (used.user + used.system) / sends;
}

if (args.child !== undefined) {
  console.log(JSON.stringify({ mode: args.child, usPerSend: await measure(args.child, Number(args.sends)) }));
} else {
  const self = fileURLToPath(import.meta.url);
  console.log(`${new Date().toISOString()} ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}, load ${loadavg()[0]?.toFixed(2)}; ${args.sends} sends per run`);
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const mode of ['default', 'literal']) {
      const out = execFileSync(process.execPath, [self, '--child', mode, '--sends', args.sends], { encoding: 'utf8' });
      const r = JSON.parse(out) as { usPerSend: number };
      console.log(`round ${round} ${mode === 'default' ? "Node's default lookup" : 'udp-lookup patch lookup'}: ${r.usPerSend.toFixed(2)} µs CPU per send`);
    }
  }
}
