/**
 * What every scenario gets (options, images, the CLI's capabilities, a log) and what it
 * returns: groups of measurements, each compared on one image.
 */
import { spawnSync } from 'node:child_process';
import type { BenchImage } from './images.ts';
import type { Measurement, Sample } from './measure.ts';
import type { BenchOptions, Scenario } from './options.ts';
import type { CliCapabilities } from './uai-cli.ts';

export interface BenchContext {
  options: BenchOptions;
  images: BenchImage[];
  cli: CliCapabilities;
  log(line: string): void;
  signal?: AbortSignal;
  /** Notes for the report (how podman ran, what was skipped and why). */
  notes: string[];
  /** Every group measured so far: scenarios append each group as it completes. */
  groups: Group[];
}

export interface Group {
  scenario: Scenario;
  /** e.g. `tar: rootfs-gzip`. */
  title: string;
  image: BenchImage;
  /** How to read the numbers: bytes per run (MB/s column) or entries per run (entries/s). */
  unit: { kind: 'bytes' | 'entries'; perRun: number };
  measurements: Measurement[];
}

/** Reads the image once so every variant starts with it in the page cache. */
export function warmPageCache(path: string): void {
  spawnSync('cat', [path], { stdio: ['ignore', 'ignore', 'ignore'] });
}

/** The JSON a CLI command printed with --json, if it printed any (for phase timings). */
export function parseJsonOutput(stdout: string): Record<string, unknown> | undefined {
  const text = stdout.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    const last = text.split('\n').reverse().find((l) => l.startsWith('{'));
    try {
      return last ? (JSON.parse(last) as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Attaches the CLI's --json output to a sample when it has one. */
export function withJson(sample: Sample & { stdout: string }): Sample {
  const { stdout, ...rest } = sample;
  const json = parseJsonOutput(stdout);
  return json ? { ...rest, extra: json } : rest;
}
