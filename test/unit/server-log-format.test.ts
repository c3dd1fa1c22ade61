/**
 * The readable log format: a pino JSON line becomes `time LEVEL msg key=value...`; what is not a
 * JSON object passes through unchanged, and lines split across writes are joined.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { prettyLogLine, prettyLogStream } from '../../src/server/log-format.js';

describe('prettyLogLine', () => {
  it('puts time, level and message first, then the fields; quotes values with spaces; errors by message', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 67).getTime();
    const line = prettyLogLine(JSON.stringify({ level: 40, time, service: 'sigctl', conn: 'Qx3', room: 'a b', peers: 2, err: { type: 'Error', message: 'boom', stack: 'Error: boom\n at x' }, msg: 'joined' }));
    expect(line).toBe('03:04:05.067 WARN  joined conn=Qx3 room="a b" peers=2 err="boom"');
  });
  it('passes anything that is not a JSON object through', () => {
    expect(prettyLogLine('not json')).toBe('not json');
    expect(prettyLogLine('[1,2]')).toBe('[1,2]');
  });
  it('colours the level only when asked', () => {
    expect(prettyLogLine('{"level":50,"msg":"x"}', true)).toContain('\u001b[31mERROR');
    expect(prettyLogLine('{"level":50,"msg":"x"}')).not.toContain('\u001b');
  });
});

describe('prettyLogStream', () => {
  it('formats whole lines even when a write splits one', async () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const stream = prettyLogStream(sink);
    stream.write('{"level":30,"time":0,"msg":"one"}\n{"level":30,"ti');
    stream.write('me":0,"msg":"two"}\n');
    await new Promise<void>((resolve) => stream.end(resolve));
    expect(out.split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ /, ''))).toEqual(['INFO  one', 'INFO  two']);
  });
});
