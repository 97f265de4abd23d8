import type { Command } from '../io.ts';

// Placeholder: replaced by the issue that delivers the 'inspect' command.
export const inspectCommand: Command = {
  name: 'inspect',
  summary: '(not yet available)',
  usage: 'uai-assemble inspect ...',
  async run() {
    throw new Error("the 'inspect' command is not available yet");
  },
};
