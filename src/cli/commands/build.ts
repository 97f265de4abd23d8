import type { Command } from '../io.ts';

// Placeholder: replaced by the issue that delivers the 'build' command.
export const buildCommand: Command = {
  name: 'build',
  summary: '(not yet available)',
  usage: 'uai-assemble build ...',
  async run() {
    throw new Error("the 'build' command is not available yet");
  },
};
