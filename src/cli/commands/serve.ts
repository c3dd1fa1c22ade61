import type { RegisterCommand } from '../command.js';

/** `sigctl serve` (not implemented yet). */
export const registerServe: RegisterCommand = (program, run) => {
  program
    .command('serve')
    .description('serve (not implemented yet)')
    .action(
      run(() => Promise.resolve(1)),
    );
};
