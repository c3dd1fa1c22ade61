/**
 * fast-check arbitraries for the protocol fuzzer: valid client frames of every message type, then
 * mutated (nesting depth, size, field types, unicode with lone surrogates, duplicate and
 * `__proto__` keys, odd numbers, broken bytes). Frames are built as JSON text, not objects, so a
 * key can repeat and `__proto__` is an ordinary key, exactly as a hostile client can send them.
 */
import fc from 'fast-check';
import { MAX_JSON_DEPTH } from '../../src/protocol/limits.js';
import { CLIENT_MESSAGE_TYPES } from '../../src/protocol/messages.js';

/** One fuzzed frame: its text (or bytes, for binary and broken UTF-8) and how it was made. */
export interface FuzzFrame {
  data: string | Buffer;
  binary: boolean;
}

/** Room ids the fuzzer may join: never the bystanders' room. */
const ROOMS = ['fz-1', 'fz-2', 'fz:3', '', 'bad room', 'é', 'x'.repeat(129)];

const quote = (s: string): string => JSON.stringify(s);

const nestedArray = (depth: number, inner: string): string => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
const nestedObject = (depth: number, inner: string): string => `${'{"k":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;

/** Strings that stress decoding: any code unit (lone surrogates included), escapes, controls. */
const oddString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map(quote),
  fc.constantFrom('"\\ud800"', '"x\\udc00"', '"\\udbff\\udfff"', '"\\u0000"', '"\\\\"', '"\\/"', '""', '"\\u00e9"'),
);

/** Numbers a parser may trip over. */
const oddNumber = fc.oneof(
  fc.constantFrom('1e309', '-1e309', '-0', '1e-400', '123456789012345678901234567890', '9007199254740993', '0.1e1', '-1E+2', '0', '1', '-1'),
  fc.double().filter(Number.isFinite).map(String),
  fc.integer().map(String),
);

/** Values nested around a leaf, up to past the protocol's 64-level limit and far beyond it. */
const deepValue = fc
  .tuple(fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 60, max: 70 }), fc.integer({ min: 1000, max: 12_000 })), fc.boolean())
  .map(([depth, arrays]) => (arrays ? nestedArray(depth, '1') : nestedObject(depth, '1')));

/** Large values: around the 4 KiB meta limit and the 64 KiB frame limit. */
const bigString = fc.oneof(fc.integer({ min: 3000, max: 5000 }), fc.integer({ min: 60_000, max: 70_000 })).map((n) => quote('x'.repeat(n)));

const protoObject = fc.oneof(
  fc.constant('{"__proto__":{"type":"join","room":"fz-1"}}'),
  fc.constant('{"__proto__":null,"constructor":{"prototype":{"polluted":true}}}'),
  fc.jsonValue({ maxDepth: 2 }).map((v) => `{"__proto__":${JSON.stringify(v)},"a":1}`),
);

/** Any value text, weird or not. */
const anyValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: oddString },
  { weight: 2, arbitrary: oddNumber },
  { weight: 1, arbitrary: deepValue },
  { weight: 1, arbitrary: bigString },
  { weight: 1, arbitrary: protoObject },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', '[]', '{}') },
);

const messageId = fc.oneof(fc.string({ maxLength: 10 }).map(quote), fc.integer().map(String), oddNumber, oddString);

const optional = (key: string, value: fc.Arbitrary<string>): fc.Arbitrary<Array<[string, string]>> =>
  fc.option(value, { nil: undefined }).map((v) => (v === undefined ? [] : [[key, v]]));

const typeEntry = (type: string): Array<[string, string]> => [['type', quote(type)]];

/** A valid frame of each client message type, as entries [key, value text]. */
const validEntries: fc.Arbitrary<Array<[string, string]>> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...ROOMS.slice(0, 3)).map(quote),
      optional('id', messageId),
      optional('name', fc.string({ minLength: 1, maxLength: 64 }).map(quote)),
      optional('meta', fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((m) => JSON.stringify(m))),
      optional('capacity', fc.integer({ min: 1, max: 20 }).map(String)),
      optional('resume', fc.string({ minLength: 1, maxLength: 40 }).map(quote)),
    )
    .map(([room, ...rest]) => [...typeEntry('join'), ['room', room] as [string, string], ...rest.flat()]),
  fc
    .tuple(fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), optional('to', fc.string({ minLength: 1, maxLength: 64 }).map(quote)), optional('id', messageId))
    .map(([data, ...rest]) => [...typeEntry('signal'), ['data', data] as [string, string], ...rest.flat()]),
  fc
    .tuple(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }).map((m) => JSON.stringify(m)), optional('id', messageId))
    .map(([meta, ...rest]) => [...typeEntry('meta'), ['meta', meta] as [string, string], ...rest.flat()]),
  optional('id', messageId).map((rest) => [...typeEntry('leave'), ...rest]),
  fc.tuple(optional('id', messageId), optional('ts', oddNumber)).map((rest) => [...typeEntry('ping'), ...rest.flat()]),
);

const KEYS = ['type', 'id', 'room', 'name', 'meta', 'capacity', 'resume', 'to', 'data', 'ts', '__proto__', 'constructor', 'x', 'ty\\u0070e'];

/** Entry-level mutations: set (possibly repeating) a key to any value, drop an entry, or change the type. */
const mutateEntries = (entries: Array<[string, string]>): fc.Arbitrary<Array<[string, string]>> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(entries) },
    {
      weight: 4,
      arbitrary: fc
        .array(fc.tuple(fc.constantFrom(...KEYS), anyValue), { minLength: 1, maxLength: 3 })
        .map((extra) => [...entries, ...extra.map(([k, v]): [string, string] => [k, v])]),
    },
    { weight: 2, arbitrary: fc.nat({ max: 10 }).map((i) => entries.filter((_, j) => j !== i % Math.max(1, entries.length))) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.constantFrom(...CLIENT_MESSAGE_TYPES, 'kick', 'SIGNAL', '', 'signal\\u0000'), fc.string({ maxLength: 8 }))
        .map((t): Array<[string, string]> => [['type', t.includes('\\') ? `"${t}"` : quote(t)], ...entries.slice(1)]),
    },
  );

const render = (entries: Array<[string, string]>): string => `{${entries.map(([k, v]) => `${k.includes('\\') ? `"${k}"` : quote(k)}:${v}`).join(',')}}`;

/** Byte-level damage to a frame's text. */
const damage = (text: string): fc.Arbitrary<FuzzFrame> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant({ data: text, binary: false }) },
    { weight: 1, arbitrary: fc.nat().map((i) => ({ data: text.slice(0, i % Math.max(1, text.length)), binary: false })) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.nat(), fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '\\', '\u0000', '\ud800')).map(([i, c]) => {
        const at = i % (text.length + 1);
        return { data: `${text.slice(0, at)}${c}${text.slice(at)}`, binary: false };
      }),
    },
    { weight: 1, arbitrary: fc.constant({ data: `\ufeff ${text}\n`, binary: false }) },
    { weight: 1, arbitrary: fc.constant({ data: Buffer.from(text), binary: true }) },
    // Invalid UTF-8 in a text frame: the WebSocket layer closes with 1007.
    { weight: 1, arbitrary: fc.constant({ data: Buffer.concat([Buffer.from(text.slice(0, 8)), Buffer.from([0xff, 0xc3])]), binary: false }) },
  );

/** A fuzzed client frame. */
export const fuzzFrame: fc.Arbitrary<FuzzFrame> = fc.oneof(
  { weight: 10, arbitrary: validEntries.chain(mutateEntries).map(render).chain(damage) },
  { weight: 1, arbitrary: anyValue.map((v) => ({ data: v, binary: false })) },
);

/**
 * The error code the protocol owes this frame whatever the connection's state, or undefined when
 * the answer depends on the state (a well-formed message of a known type). Checked in the order the
 * server checks: binary, nesting depth (before parsing), JSON, object, `type`.
 */
export function owedError(frame: FuzzFrame): 'BAD_MESSAGE' | 'UNKNOWN_TYPE' | undefined {
  if (frame.binary) return 'BAD_MESSAGE';
  const text = typeof frame.data === 'string' ? frame.data : frame.data.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'BAD_MESSAGE';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'BAD_MESSAGE';
  // Measured on the text, as the server does: a deep value that a later duplicate key replaced
  // is gone from the parsed object but still refused.
  if (textDepth(text) > MAX_JSON_DEPTH) return 'BAD_MESSAGE';
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return 'BAD_MESSAGE';
  return (CLIENT_MESSAGE_TYPES as readonly string[]).includes(type) ? undefined : 'UNKNOWN_TYPE';
}

/** Deepest nesting of `[` and `{` in JSON text (1 for {} or []), brackets inside strings not counted. */
function textDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
