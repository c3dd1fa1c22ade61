/**
 * The default browser-origin check built from `origins` in the config: exact origins
 * (`https://app.example.com`) or a leading wildcard host (`*.example.com`, any scheme and port).
 * An empty list allows every origin; a request without an Origin header (not a browser) is allowed.
 */
export function originChecker(allowed: readonly string[]): (origin: string | undefined) => boolean {
  if (allowed.length === 0) return () => true;
  const exact = new Set(allowed.filter((a) => !a.startsWith('*.')).map((a) => a.toLowerCase()));
  const suffixes = allowed.filter((a) => a.startsWith('*.')).map((a) => a.slice(1).toLowerCase());
  return (origin) => {
    if (origin === undefined) return true;
    const o = origin.toLowerCase();
    if (exact.has(o)) return true;
    if (suffixes.length === 0) return false;
    let host: string;
    try {
      host = new URL(o).hostname;
    } catch {
      return false;
    }
    return suffixes.some((s) => host.endsWith(s) && host.length > s.length);
  };
}
