import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.ts';

describe('CLI command table', () => {
  it('lists each command with the summary its module declares', async () => {
    for (const entry of commands) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(command.summary).toBe(entry.summary);
    }
  });
});
