import type { Command } from '../io.ts';

// Placeholder: replaced by the issue that delivers the 'ls' command.
export const lsCommand: Command = {
  name: 'ls',
  summary: '(not yet available)',
  usage: 'uai-assemble ls ...',
  async run() {
    throw new Error("the 'ls' command is not available yet");
  },
};
