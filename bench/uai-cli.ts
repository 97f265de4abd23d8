/**
 * The CLI under test, run as users run the installed command: `bin/uai-assemble.js`, which
 * loads the compiled `dist/` (`buildCli()` compiles it first, as `npm run build` does), with
 * the environment and V8 flag of its shebang. Running the TypeScript sources instead (Node strips the
 * types at load) costs ~0.08 s and ~20 MB of RSS per process that no installed copy pays.
 * The harness asks `--help` which commands exist and each command's usage line which
 * options it takes, so it runs what exists and reports the rest as "not available yet".
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..');
export const CLI_MAIN = resolve(REPO_ROOT, 'bin', 'uai-assemble.js');

/** Compiles src/ into dist/ (`tsc -p tsconfig.build.json`, what `npm run build` runs). */
export function buildCli(): void {
  execFileSync(process.execPath, [resolve(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', resolve(REPO_ROOT, 'tsconfig.build.json')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/**
 * What the launcher's shebang line (`#!/usr/bin/env -S NAME=VALUE… node FLAG…`) sets: its
 * environment assignments and its node flags, so the harness runs what users run.
 */
export function launcherSpec(shebang: string): { env: string[]; nodeFlags: string[] } {
  const m = /^#!\S*env(?: -S)? (.*)$/.exec(shebang.trim());
  if (!m) throw new Error(`unexpected launcher shebang ${JSON.stringify(shebang)}`);
  const words = m[1]!.split(/\s+/).filter(Boolean);
  const nodeAt = words.indexOf('node');
  if (nodeAt < 0 || !words.slice(0, nodeAt).every((w) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w))) {
    throw new Error(`unexpected launcher shebang ${JSON.stringify(shebang)}`);
  }
  return { env: words.slice(0, nodeAt), nodeFlags: words.slice(nodeAt + 1) };
}

/**
 * argv for `uai-assemble ARGS` with the launcher's environment and node flags (through
 * `env NAME=VALUE…`, so no other process of the benchmark gets them), optionally under
 * the V8 CPU profiler.
 */
export function uaiArgv(args: readonly string[], options: { cpuProfDir?: string } = {}): [string, string[]] {
  const spec = launcherSpec(readFileSync(CLI_MAIN, 'utf8').split('\n', 1)[0]!);
  const node = [...spec.nodeFlags];
  if (options.cpuProfDir) node.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir);
  return ['/usr/bin/env', [...spec.env, process.execPath, ...node, CLI_MAIN, ...args]];
}

function capture(args: string[]): string {
  try {
    return execFileSync(process.execPath, [CLI_MAIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

export interface CliCapabilities {
  /** Commands whose summary is not a placeholder. */
  commands: Set<string>;
  /** Usage line (and help text) per available command. */
  usage: Map<string, string>;
  /** Why a command is missing, for the report. */
  missing(command: string): string | undefined;
  /** Whether the command's help mentions an option, e.g. `--compression`. */
  hasOption(command: string, option: string): boolean;
}

/** Asks the CLI what it can do. Never throws: a broken CLI has no commands. */
export function probeCli(): CliCapabilities {
  const help = capture(['--help']);
  const commands = new Set<string>();
  const placeholders = new Set<string>();
  let inCommands = false;
  for (const line of help.split('\n')) {
    if (/^commands:/.test(line)) inCommands = true;
    else if (inCommands) {
      const m = /^\s{2}(\S+)\s{2,}(.*)$/.exec(line);
      if (!m) {
        if (line.trim() === '') inCommands = false;
        continue;
      }
      if (/not (yet )?available/i.test(m[2]!)) placeholders.add(m[1]!);
      else commands.add(m[1]!);
    }
  }
  const usage = new Map<string, string>();
  for (const c of commands) usage.set(c, capture([c, '--help']));
  return {
    commands,
    usage,
    missing(command) {
      if (commands.has(command)) return undefined;
      return placeholders.has(command)
        ? `\`uai-assemble ${command}\` is not available yet (placeholder command)`
        : `\`uai-assemble ${command}\` is not available yet (not in \`uai-assemble --help\`)`;
    },
    hasOption(command, option) {
      return usage.get(command)?.includes(option) ?? false;
    },
  };
}

/** The version line of a tool (first line of `TOOL --version`), or 'not installed'. */
export function toolVersion(cmd: string, args: string[] = ['--version']): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    return out.split('\n').find((l) => l.trim().length > 0)?.trim() ?? '?';
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') return 'not installed';
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n').find((l) => l.trim().length > 0)?.trim() ?? '?';
  }
}
