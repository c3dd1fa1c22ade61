/**
 * The documentation is written from the code: docs/errors.md lists every catalogue code,
 * docs/configuration.md every config key (with its environment variable), and
 * config.example.json validates against the schema and sets every key that can be set together.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configKeys } from '../../src/config/paths.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { ERROR_CATALOGUE, httpStatus, type CatalogueEntry, type ErrorCode } from '../../src/protocol/errors.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { CLIENT_MESSAGE_TYPES, ServerMessage } from '../../src/protocol/messages.js';

const read = (p: string): string => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('docs/errors.md', () => {
  const doc = read('docs/errors.md');
  const headings = [...doc.matchAll(/^### ([A-Z_]+)$/gm)].map((m) => m[1]);

  it('has a section and a summary row for every code in the catalogue, and no others', () => {
    const codes = Object.keys(ERROR_CATALOGUE);
    expect([...headings].sort()).toEqual([...codes].sort());
    for (const code of codes) {
      const entry = ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE];
      expect(doc).toMatch(new RegExp(`^\\| ${code} \\| ${entry.scope} \\| ${entry.exit} \\|`, 'm'));
    }
  });

  it('gives the HTTP status of exactly the codes whose catalogue entry has one, and the same status', () => {
    const documented: Record<string, number> = Object.fromEntries([...doc.matchAll(/^\| ([A-Z_]+) \| (\d{3}) \|/gm)].map((m) => [m[1] ?? '', Number(m[2])]));
    const catalogued = Object.fromEntries(
      Object.entries(ERROR_CATALOGUE as Readonly<Record<string, CatalogueEntry>>)
        .filter(([, entry]) => entry.http !== undefined)
        .map(([code, entry]) => [code, entry.http]),
    );
    expect(documented).toEqual(catalogued);
    for (const [code, status] of Object.entries(catalogued)) expect(httpStatus(code as ErrorCode)).toBe(status);
    // Codes without one answer 500 (the fallback the page promises).
    expect(httpStatus('ROOM_FULL')).toBe(500);
  });

  it('lists every close code', () => {
    for (const code of Object.values(CloseCode)) expect(doc).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });
});

describe('docs/configuration.md', () => {
  const doc = read('docs/configuration.md');
  it('documents every config key with its environment variable', () => {
    for (const key of configKeys()) {
      expect(doc, key.path).toContain(`\`${key.path}\``);
      expect(doc, key.env).toContain(`\`${key.env}\``);
    }
  });
});

describe('config.example.json', () => {
  const example = JSON.parse(read('config.example.json')) as unknown;
  /** Keys that need the operator's own files or services, or exclude each other (documented instead). */
  const NOT_IN_EXAMPLE = new Set(['tls.cert', 'tls.key', 'redis.url', 'redis.sentinel.name', 'redis.sentinel.sentinels', 'redis.sentinel.password', 'redis.cluster.nodes', 'auth.jwt.publicKey', 'auth.jwt.jwksUrl', 'webhooks']);

  it('validates against the schema', () => {
    const parsed = ConfigSchema.safeParse(example);
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it('sets every other key explicitly', () => {
    const get = (path: string): unknown => path.split('.').reduce<unknown>((node, k) => (node as Record<string, unknown> | undefined)?.[k], example);
    for (const key of configKeys()) {
      if (NOT_IN_EXAMPLE.has(key.path)) continue;
      expect(get(key.path), key.path).not.toBeUndefined();
    }
  });
});

describe('docs/protocol.md', () => {
  const doc = read('docs/protocol.md');
  it('describes every client and server message type', () => {
    for (const t of CLIENT_MESSAGE_TYPES) expect(doc).toContain(`"type":"${t}"`);
    for (const option of ServerMessage.options) expect(doc).toContain(`"type":"${option.shape.type.value}"`);
  });

  it('has the sections other engineers and users rely on', () => {
    for (const h of ['## Signal payloads', '## Offerer and polite peer', '## Resume']) expect(doc).toContain(h);
  });
});
