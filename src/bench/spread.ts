/**
 * Spreading load over the nodes of one deployment (`--url A --url B`): client i connects to
 * urls[i % n]. The members of a room are consecutive clients (load-generator.ts planRooms; a pair's
 * two peers in peers.ts), so every room of two or more spans two nodes whenever n >= 2: what is
 * measured is the cross-node path, relayed through the shared store. The signaling scenario can
 * also deal out whole rooms instead (`--spread rooms`: room r on urls[r % n]), so that every signal
 * stays on its node: the same deployment's same-node path, to compare against.
 */

/** How signaling clients are spread over several nodes: each room's members apart, or whole rooms. */
export const SPREADS = ['members', 'rooms'] as const;
export type Spread = (typeof SPREADS)[number];

/** The deployment a run targets: a single URL or one per node; absent means a local server. */
export type TargetUrls = string | readonly string[];

/** The URLs as a list (empty: a local server). */
export function urlList(url: TargetUrls | undefined): string[] {
  if (url === undefined) return [];
  return typeof url === 'string' ? [url] : [...url];
}

/** The URL client `index` connects to: round-robin over `urls` (which must not be empty). */
export function urlFor(index: number, urls: readonly string[]): string {
  if (urls.length === 0) throw new RangeError('urlFor needs at least one URL');
  return urls[index % urls.length]!;
}
