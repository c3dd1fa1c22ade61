/**
 * The user docs agree with the program (issue 13, "Docs that disagree"): every name a doc imports
 * from the package is exported by that entry point, every API a doc presents exists, the config
 * files listed are the ones cosmiconfig searches, and the example config's placeholder secret
 * states the real minimum length.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';

const root = join(import.meta.dirname, '../..');
const read = (p: string): string => readFileSync(join(root, p), 'utf8');
const USER_DOCS = ['README.md', 'docs/peer.md', 'docs/security.md', 'docs/configuration.md', 'docs/protocol.md', 'docs/scaling.md', 'docs/errors.md'];
const ENTRY: Record<string, string> = { sigctl: 'src/index.ts', 'sigctl/peer': 'src/peer/index.ts', 'sigctl/protocol': 'src/protocol/index.ts', 'sigctl/browser': 'src/client/browser.ts' };

describe('user docs vs the program', () => {
  it("every `import { ... } from 'sigctl...'` names an export of that entry point", async () => {
    const seen: string[] = [];
    for (const doc of USER_DOCS) {
      for (const m of read(doc).matchAll(/import\s*\{([^}]*)\}\s*from\s*'(sigctl[^']*)'/g)) {
        const entry = ENTRY[m[2]!];
        expect(entry, `${doc}: unknown entry point ${m[2]}`).toBeDefined();
        const mod = (await import(join(root, entry!))) as Record<string, unknown>;
        for (const name of m[1]!.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter((n) => n !== '')) {
          seen.push(name);
          expect(mod[name], `${doc} imports ${name} from '${m[2]}', which does not export it`).toBeDefined();
        }
      }
    }
    expect(seen).toContain('createPeerRun');
  });

  it('no doc presents probeTurn as an API (it is internal)', () => {
    for (const doc of USER_DOCS) expect(read(doc), doc).not.toMatch(/probeTurn\(/);
  });

  it("README's serve synopsis does not read as if --stun-port had a default", () => {
    expect(read('README.md')).not.toMatch(/\[--stun-port \d+\]/);
  });

  it('the config files listed are searched by cosmiconfig, .sigctlrc.yaml included', async () => {
    const { getDefaultSearchPlaces } = (await import('cosmiconfig')) as unknown as { getDefaultSearchPlaces: (m: string) => string[] };
    const places = getDefaultSearchPlaces('sigctl');
    for (const doc of ['README.md', 'docs/configuration.md']) {
      const text = read(doc);
      expect(text, doc).toContain('.sigctlrc.yaml');
      for (const m of text.matchAll(/sigctl\.config\.\{([a-z,]+)\}/g)) {
        for (const ext of m[1]!.split(',')) expect(places, `${doc} lists sigctl.config.${ext}`).toContain(`sigctl.config.${ext}`);
      }
    }
  });

  it("config.example.json's placeholder secret names the real minimum length", () => {
    const example = read('config.example.json');
    const parsed = ConfigSchema.safeParse({ auth: { jwt: { secret: 'x'.repeat(15), algorithms: ['HS256'] } } });
    expect(parsed.success).toBe(false);
    const min = 16;
    expect(ConfigSchema.safeParse({ auth: { jwt: { secret: 'x'.repeat(min), algorithms: ['HS256'] } } }).success).toBe(true);
    for (const m of example.matchAll(/at-least-(\d+)/g)) expect(Number(m[1])).toBe(min);
  });
});
