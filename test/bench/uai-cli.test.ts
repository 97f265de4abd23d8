import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_MAIN, launcherSpec, uaiArgv } from '../../bench/uai-cli.ts';

describe('bench/uai-cli: the CLI runs as the launcher runs it', () => {
  it("reads the launcher's environment and node flags from its shebang", () => {
    const first = readFileSync(CLI_MAIN, 'utf8').split('\n', 1)[0]!;
    const spec = launcherSpec(first);
    expect(spec.env).toContain('MALLOC_ARENA_MAX=2');
    expect(spec.nodeFlags).toContain('--max-semi-space-size=4');
    expect(launcherSpec('#!/usr/bin/env -S A=1 B=x node --foo --bar=2')).toEqual({ env: ['A=1', 'B=x'], nodeFlags: ['--foo', '--bar=2'] });
    expect(launcherSpec('#!/usr/bin/env -S node')).toEqual({ env: [], nodeFlags: [] });
    expect(launcherSpec('#!/usr/bin/env node')).toEqual({ env: [], nodeFlags: [] });
  });

  it('refuses a shebang it cannot read, instead of measuring something else', () => {
    expect(() => launcherSpec('#!/usr/bin/node')).toThrow(/unexpected launcher shebang/);
    expect(() => launcherSpec('#!/usr/bin/env -S --flag node')).toThrow(/unexpected launcher shebang/);
    expect(() => launcherSpec('#!/usr/bin/env -S A=1 deno run')).toThrow(/unexpected launcher shebang/);
  });

  it('passes the environment through env(1), for this process only, then node, its flags and the CLI', () => {
    const spec = launcherSpec(readFileSync(CLI_MAIN, 'utf8').split('\n', 1)[0]!);
    const [cmd, args] = uaiArgv(['tar', 'IMAGE', '-o', '/dev/null'], { cpuProfDir: '/tmp/p' });
    expect(cmd).toBe('/usr/bin/env');
    expect(args).toEqual([...spec.env, process.execPath, ...spec.nodeFlags, '--cpu-prof', '--cpu-prof-dir', '/tmp/p', CLI_MAIN, 'tar', 'IMAGE', '-o', '/dev/null']);
  });
});
