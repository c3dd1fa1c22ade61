/**
 * Messages between the connect/throughput orchestrator and its peer workers (worker threads, or
 * child processes for libdatachannel), validated at both ends. The two peers of a pair live in
 * different workers: the first peers' workers join and wait (`joined`), then the newcomers'
 * workers are told to `connect`; every phase and RTT is measured on the newcomer's clock (an RTT
 * is a ping echoed by the first peer).
 */
import { z } from 'zod';

/** Data-channel engines a connect/throughput run can use; werift is the one sigctl ships with, node-datachannel (libdatachannel) is optional. */
export const ENGINES = ['werift', 'node-datachannel'] as const;
export const Engine = z.enum(ENGINES);
export type Engine = z.infer<typeof Engine>;

/** Which peer of each pair a worker runs: the first (joins, answers, receives) or the newcomer (offers, sends). */
export const PeerRole = z.enum(['first', 'newcomer']);
export type PeerRole = z.infer<typeof PeerRole>;

export const PeerWorkerSetup = z.object({
  role: PeerRole,
  /** Nodes of the deployment: peer k (pair i's first peer is 2i, its second 2i+1) uses urls[k % n]. */
  urls: z.array(z.string()).min(1),
  /** Bearer token for a deployment that requires auth (sent as Authorization, never logged). */
  token: z.string().optional(),
  /** Room ids, one pair each. */
  rooms: z.array(z.string()),
  /** Global index of the first pair. */
  base: z.number().int().nonnegative(),
  /** Per pair: start to open channel before it counts as failed (ms). */
  pairTimeoutMs: z.number().int().positive(),
  /** Bind ICE to this address (e.g. 127.0.0.1); absent: every interface plus loopback. */
  bindAddress: z.string().optional(),
  engine: Engine,
  /** In-order delivery on the measured channels (throughput --unordered: false). */
  ordered: z.boolean(),
});
export type PeerWorkerSetup = z.infer<typeof PeerWorkerSetup>;

export const TransferCommand = z.object({
  type: z.literal('transfer'),
  durationMs: z.number().int().positive(),
  messageSize: z.number().int().positive(),
  /** Timestamped pings after the bulk phase, one outstanding at a time. */
  pings: z.number().int().nonnegative(),
  /** Longest time for the ping phase (ms). */
  pingBudgetMs: z.number().int().positive(),
});
export type TransferCommand = z.infer<typeof TransferCommand>;

/**
 * To a newcomers' worker once every first peer has joined: connect now, except the pairs in
 * `skip`, whose first peer failed to join (they fail at once instead of waiting out their timeout).
 */
export const ConnectCommand = z.object({ type: z.literal('connect'), skip: z.array(z.number().int().nonnegative()) });
export type ConnectCommand = z.infer<typeof ConnectCommand>;

export const ToPeerWorker = z.discriminatedUnion('type', [TransferCommand, ConnectCommand, z.object({ type: z.literal('close') })]);
export type ToPeerWorker = z.infer<typeof ToPeerWorker>;

const Ms = z.number().nullable();

/** How one pair came up, from the newcomer's side (it offers, so it sees every phase). */
export const PairResult = z.object({
  pair: z.number().int().nonnegative(),
  room: z.string(),
  ok: z.boolean(),
  /** Error code when it failed. */
  error: z.string().optional(),
  /** The failure's message (what the engine saw), for the report and the error of a run where nothing connected. */
  detail: z.string().optional(),
  /** ms since the newcomer's start(): ws connected, joined, offer sent, answer received, ICE, DTLS, channel open. */
  at: z.object({
    wsConnected: Ms,
    joined: Ms,
    offerSent: Ms,
    answerReceived: Ms,
    iceConnected: Ms,
    dtlsConnected: Ms,
    channelOpen: Ms,
  }),
  /** Selected candidate pair, e.g. "host/host udp". */
  candidatePair: z.string().nullable(),
  /** The URLs the first and the second peer signalled through. */
  urls: z.array(z.string()),
});
export type PairResult = z.infer<typeof PairResult>;

/** Which werift runtime patches the worker's peers ran with (werift engine only; src/peer/patch-status.ts). */
export const EnginePatches = z.object({
  weriftVersion: z.string().optional(),
  targetVersion: z.string(),
  applied: z.array(z.string()),
  skipped: z.array(z.object({ name: z.string(), reason: z.string() })),
});
export type EnginePatches = z.infer<typeof EnginePatches>;

/** A first peers' worker: each pair's first peer joined (or failed, with its code and message). */
export const JoinedReport = z.object({
  type: z.literal('joined'),
  pairs: z.array(z.object({ pair: z.number().int().nonnegative(), error: z.string().optional(), detail: z.string().optional() })),
});

/**
 * `connected` from a newcomers' worker carries the pairs' timelines; from a first peers' worker,
 * whether each first peer's channel opened (`ok`; its `at` is all null).
 */
export const ConnectedReport = z.object({ type: z.literal('connected'), pairs: z.array(PairResult), patches: EnginePatches.optional() });

export const PairTransfer = z.object({
  pair: z.number().int().nonnegative(),
  /** Bytes the receiver got within the run. */
  bytes: z.number().int().nonnegative(),
  messages: z.number().int().nonnegative(),
  /** First send to the receiver's confirmation, over the channel, that it had every byte sent (ms, the sender's clock). */
  ms: z.number().nonnegative(),
  /** Largest bufferedAmount the sender saw (proof that buffering stayed bounded). */
  maxBufferedBytes: z.number().int().nonnegative(),
  /** Ordering of the channel as each end sees it (the receiver's comes from the DCEP open). */
  ordered: z.object({ sender: z.boolean(), receiver: z.boolean() }),
  rttMs: z.instanceof(Float64Array),
  error: z.string().optional(),
});
export type PairTransfer = z.infer<typeof PairTransfer>;

export const TransferredReport = z.object({ type: z.literal('transferred'), pairs: z.array(PairTransfer) });

export const FromPeerWorker = z.discriminatedUnion('type', [
  JoinedReport,
  ConnectedReport,
  TransferredReport,
  z.object({ type: z.literal('closed') }),
  z.object({ type: z.literal('fatal'), message: z.string() }),
]);
export type FromPeerWorker = z.infer<typeof FromPeerWorker>;
