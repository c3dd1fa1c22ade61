/**
 * Room grants: an exact room id, or a glob where `*` matches any run of room-id characters
 * (`team-*` grants `team-a` and `team-42:x`). No other glob syntax: room ids are plain.
 */
export function roomMatches(pattern: string, room: string): boolean {
  if (!pattern.includes('*')) return pattern === room;
  const re = new RegExp(`^${pattern.split('*').map(escape).join('[A-Za-z0-9._:-]*')}$`);
  return re.test(room);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
