import type { Command } from '../io.ts';

// Placeholder: replaced by the issue that delivers the 'register' command.
export const registerCommand: Command = {
  name: 'register',
  summary: '(not yet available)',
  usage: 'uai-assemble register ...',
  async run() {
    throw new Error("the 'register' command is not available yet");
  },
};
