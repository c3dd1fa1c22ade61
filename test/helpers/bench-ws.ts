/** Test helpers for bench tests: a WebSocket client whose every wait is bounded. */
import WebSocket from 'ws';

/** A connected client that queues parsed JSON frames. */
export interface TestSocket {
  ws: WebSocket;
  /** The next frame matching `pred`, or a rejection after `timeoutMs`. */
  next(pred?: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(msg: unknown): void;
  /** Frames received and not yet taken. */
  pending(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function connect(url: string, timeoutMs = 5_000): Promise<TestSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const queue: Array<Record<string, unknown>> = [];
  let waiter: (() => void) | undefined;
  ws.on('message', (data: Buffer) => {
    queue.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
    waiter?.();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connect timeout')), timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return {
    ws,
    send: (msg) => ws.send(JSON.stringify(msg)),
    pending: () => [...queue],
    async next(pred = () => true, ms = 5_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = queue.findIndex(pred);
        if (i >= 0) return queue.splice(i, 1)[0]!;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching frame within ${ms} ms; have ${JSON.stringify(queue)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2_000);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        ws.close();
      }),
  };
}
