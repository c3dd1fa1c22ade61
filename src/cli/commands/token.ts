import type { RegisterCommand } from '../command.js';

/** `sigctl token` (not implemented yet). */
export const registerToken: RegisterCommand = (program, run) => {
  program
    .command('token')
    .description('token (not implemented yet)')
    .action(
      run(() => Promise.resolve(1)),
    );
};
