/**
 * This node as the other nodes and GET /v1/nodes see it: its id, its load (connections, rooms) and
 * the URL its clients may be sent to. A shared store (Redis) publishes it with its own heartbeat and
 * lists every live node; without one, /v1/nodes lists just this node.
 */
import type { Config } from '../config/schema.js';
import type { Store } from '../store/store.js';

/** One node's load, as published to the store. */
export interface NodeLoad {
  connections: number;
  rooms: number;
  url: string | undefined;
}

/** What the node's load is read from. */
export interface NodeLoadOptions {
  config: Readonly<Config>;
  store: Store;
  now: () => number;
  connections: () => number;
  rooms: () => number;
  /** The listen URL of the WebSocket endpoint. */
  wsUrl: () => string;
  /** How often a shared store is told the load (default 1000 ms). */
  reportEveryMs?: number;
}

/** This node's load and the node list. */
export interface NodeLoadReporter {
  load(): NodeLoad;
  /** Live nodes with their load (GET /v1/nodes). */
  nodes(): Promise<readonly unknown[]>;
  /** Publishes the load now and then every `reportEveryMs` (when the store takes it); returns the stop function. */
  report(): () => void;
}

/** Reads this node's load. */
export function createNodeLoad(o: NodeLoadOptions): NodeLoadReporter {
  const startedAt = o.now();
  // The URL other nodes' clients are sent to: publicUrl, else the listen URL (useless on a wildcard host).
  const wildcard = /^(0\.0\.0\.0|::|\[::\])$/.test(o.config.host);
  const load = (): NodeLoad => ({ connections: o.connections(), rooms: o.rooms(), url: o.config.publicUrl ?? (wildcard ? undefined : o.wsUrl()) });
  return {
    load,
    nodes: () => (o.store.nodes !== undefined ? o.store.nodes() : Promise.resolve([{ id: o.store.nodeId, ...load(), startedAt, updatedAt: o.now() }])),
    report: () => {
      const { store } = o;
      if (store.reportLoad === undefined) return () => undefined;
      store.reportLoad(load());
      const timer = setInterval(() => store.reportLoad?.(load()), o.reportEveryMs ?? 1000);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
