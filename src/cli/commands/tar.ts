import type { Command } from '../io.ts';

// Placeholder: replaced by the issue that delivers the 'tar' command.
export const tarCommand: Command = {
  name: 'tar',
  summary: '(not yet available)',
  usage: 'uai-assemble tar ...',
  async run() {
    throw new Error("the 'tar' command is not available yet");
  },
};
