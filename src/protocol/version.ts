/** The wire protocol version spoken by this build. Bumped only on incompatible changes. */
export const PROTOCOL_VERSION = 1 as const;

/** The WebSocket subprotocol a v1 client may offer; a client offering none is treated as v1. */
export const SUBPROTOCOL = 'sigctl.v1' as const;
