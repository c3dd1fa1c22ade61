import type { RegisterCommand } from '../command.js';

/** `sigctl peer` (not implemented yet). */
export const registerPeer: RegisterCommand = (program, run) => {
  program
    .command('peer')
    .description('peer (not implemented yet)')
    .action(
      run(() => Promise.resolve(1)),
    );
};
