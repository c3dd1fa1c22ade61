/**
 * The werift peer: sessions (a member of a room with a data channel to every other member), the
 * single-connection PeerLink, data channels with backpressure, and file transfer. werift is loaded
 * by importing this module: `serve` never imports it.
 */
export { createPeerSession, PeerSession, KEEPALIVE_PROTOCOL, KEEPALIVE_MESSAGE } from './session.js';
export type { PeerSessionOptions, PeerSessionEvents, PeerConnected, PhaseEvent, SessionPhase } from './session.js';
export { PeerLink } from './link.js';
export type { PeerLinkOptions, PeerLinkEvents, LinkPhase, LinkReport, OutgoingSignal } from './link.js';
export { PeerChannel, MAX_MESSAGE_BYTES, DEFAULT_HIGH_WATER_MARK } from './channel.js';
export type { ChannelData } from './channel.js';
export { selectedPair, classifyPair, candidateTypeOf } from './stats.js';
export type { SelectedPair, CandidateType } from './stats.js';
export { createWeriftPeerConnection, prepareWerift, weriftPatchStatus } from './werift-factory.js';
export { skippedPatchesWarning } from './patch-status.js';
export type { WeriftPatchStatus, SkippedPatch } from './patch-status.js';
export { createDtlsKeys, certificateFingerprint } from './certificate.js';
export type { DtlsKeys, DtlsKeysOptions } from './certificate.js';
export { deferX509Load } from './werift-x509.js';
export type { X509Deferral } from './werift-x509.js';
export type { WeriftPeerOptions } from './werift-factory.js';
export { createPeerRun, PeerRun, phaseSplit } from './run.js';
export type { RunPeerOptions, RunEvent, RunSummary, PhaseSplit, EndReason } from './run.js';
export { sendFile, FileReceiver, parseControl, DEFAULT_CHUNK_BYTES } from './transfer.js';
export type { TransferResult, SendFileOptions, FileReceiverHooks } from './transfer.js';
