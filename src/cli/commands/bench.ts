import type { RegisterCommand } from '../command.js';

/** `sigctl bench` (not implemented yet). */
export const registerBench: RegisterCommand = (program, run) => {
  program
    .command('bench')
    .description('bench (not implemented yet)')
    .action(
      run(() => Promise.resolve(1)),
    );
};
