/**
 * What the numbers were measured on: cores, CPU, memory, kernel, Node and tool versions,
 * the commit, and the load average (the machine may be shared; the report says so).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { REPO_ROOT, toolVersion } from './uai-cli.ts';

export interface Machine {
  date: string;
  nproc: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  commit: string;
  tools: Record<string, string>;
  loadStart: number[];
  loadEnd?: number[];
}

function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    return /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function commit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${sha} (+ uncommitted changes in src/)` : sha;
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): Machine {
  const version = (cmd: string, args?: string[]) => toolVersion(cmd, args).replace(/\s+/g, ' ').slice(0, 80);
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpu: cpuModel(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    commit: commit(),
    tools: {
      mksquashfs: version('mksquashfs', ['-version']),
      unsquashfs: version('unsquashfs', ['-version']),
      sqfs2tar: version('sqfs2tar'),
      'GNU tar': version('tar'),
      skopeo: version('skopeo'),
      podman: version('podman'),
      'docker-registry': version('docker-registry', ['--version']),
      'GNU time': version('/usr/bin/time', ['--version']),
    },
    loadStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
