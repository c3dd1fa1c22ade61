/**
 * SCTP TSN serial-number arithmetic (RFC 4960 §1.6, RFC 1982 with SERIAL_BITS = 32), shared by the
 * patches that compare or advance TSNs. werift's own helpers are not exported from its bundle.
 */

export const TSN_MODULO = 2 ** 32;

/** a > b in 32-bit serial arithmetic. */
export function uint32Gt(a: number, b: number): boolean {
  const half = 2147483648;
  return (a < b && b - a > half) || (a > b && a - b < half);
}

/** a >= b in 32-bit serial arithmetic. */
export function uint32Gte(a: number, b: number): boolean {
  return a === b || uint32Gt(a, b);
}
