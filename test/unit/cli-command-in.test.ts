import { describe, expect, it } from 'vitest';
import { commandIn } from '../../src/cli/main.js';

const argv = (...args: string[]): string[] => ['node', 'sigctl', ...args];

describe('commandIn: which command main registers alone', () => {
  it('finds the command after global flags, skipping the value of --config/-c', () => {
    expect(commandIn(argv('peer', '--room', 'r'))).toBe('peer');
    expect(commandIn(argv('-v', '--no-color', 'serve', '--port', '0'))).toBe('serve');
    expect(commandIn(argv('-c', 'peer', 'bench'))).toBe('bench');
    expect(commandIn(argv('--config', 'x.json', 'token'))).toBe('token');
    expect(commandIn(argv('--config=x.json', 'config'))).toBe('config');
  });

  it('registers everything for no command, help, a typo or after --', () => {
    expect(commandIn(argv())).toBeUndefined();
    expect(commandIn(argv('--help'))).toBeUndefined();
    expect(commandIn(argv('help', 'peer'))).toBeUndefined();
    expect(commandIn(argv('pear', '--room', 'r'))).toBeUndefined();
    expect(commandIn(argv('--', 'peer'))).toBeUndefined();
  });
});
