/**
 * Running and timing commands: one process under GNU time (`/usr/bin/time -f %M`) for its
 * peak RSS, wall time from a monotonic clock, and A/B alternation with N repetitions.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface RunOptions {
  /** How failures name the command (default: the program's name). */
  name?: string;
  /** Where stdout goes: a file path (e.g. /dev/null) or 'capture' to return it. Default: /dev/null. */
  stdout?: string | 'capture';
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  /** Kill the run (its whole process group) after this long; default RUN_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** No single benchmark run may take longer (UAI_BENCH_RUN_TIMEOUT_S overrides; default 30 min). */
export const RUN_TIMEOUT_MS = Number(process.env.UAI_BENCH_RUN_TIMEOUT_S ?? 1800) * 1000;

export interface RunResult {
  wallMs: number;
  /** Peak resident set size of the process (largest of it and its waited-for children), KiB. */
  peakRssKiB: number;
  /** User + system CPU time of the process and its children, ms (cores used = cpuMs / wallMs). */
  cpuMs: number;
  exitCode: number;
  stdout: string;
  stderrTail: string;
}

/** Runs `cmd args` under GNU time; never throws for a non-zero exit (see `exitCode`). */
export async function runMeasured(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  options.signal?.throwIfAborted();
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is missing: install Debian package 'time' (./dev setup)`);
  const timeFile = join(tmpdir(), `uai-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const capture = options.stdout === 'capture';
  const outFd = capture ? undefined : openSync(options.stdout ?? '/dev/null', 'w');
  const started = process.hrtime.bigint();
  try {
    // Its own process group, so a timeout or an abort stops the command and its children
    // (GNU time does not forward signals).
    const child = spawn(GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, '--', cmd, ...args], {
      stdio: ['ignore', capture ? 'pipe' : outFd, 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
      detached: true,
    });
    let killedBy: string | undefined;
    const killGroup = (why: string) => {
      killedBy ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => killGroup(`timed out after ${(options.timeoutMs ?? RUN_TIMEOUT_MS) / 1000} s`), options.timeoutMs ?? RUN_TIMEOUT_MS);
    const onAbort = () => killGroup('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-4000);
    });
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
    }).finally(() => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    });
    options.signal?.throwIfAborted();
    if (killedBy) err = `${err}\n${cmd} ${killedBy}`.trim();
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    // GNU time writes "Command exited with non-zero status N" before the format line.
    const lines = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n') : [];
    const [rss, user, sys] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
    const peakRssKiB = rss ?? NaN;
    const cpuMs = ((user ?? NaN) + (sys ?? NaN)) * 1000;
    return { wallMs, peakRssKiB, cpuMs, exitCode, stdout: Buffer.concat(out).toString('utf8'), stderrTail: err.trim() };
  } finally {
    if (outFd !== undefined) closeSync(outFd);
    rmSync(timeFile, { force: true });
  }
}

/** One timed execution of a variant; `phases` splits a multi-step pipeline (ms). */
export interface Sample {
  wallMs: number;
  peakRssKiB: number;
  /** CPU time (user + system) of every process of the run, ms. */
  cpuMs?: number;
  phases?: Record<string, number>;
  /** Extra numbers a variant reports (e.g. the CLI's --json timings). */
  extra?: Record<string, unknown>;
}

/** A failed run: the harness records it and stops repeating that variant. */
export class RunFailed extends Error {
  readonly tail: string;
  constructor(what: string, result: Pick<RunResult, 'exitCode' | 'stderrTail'>) {
    const tail = result.stderrTail.split('\n').slice(-3).join(' | ');
    super(`${what} exited with status ${result.exitCode}: ${tail}`);
    this.tail = tail;
  }
}

/** Runs a command and returns its sample, throwing RunFailed on a non-zero exit. */
export async function sampleOf(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<Sample & { stdout: string }> {
  const r = await runMeasured(cmd, args, options);
  if (r.exitCode !== 0) throw new RunFailed(options.name ?? cmd.split('/').pop()!, r);
  return { wallMs: r.wallMs, peakRssKiB: r.peakRssKiB, cpuMs: r.cpuMs, stdout: r.stdout };
}

export interface Variant {
  /** Stable id, used by targets: e.g. `tar/uai/rootfs-gzip`. */
  id: string;
  /** What it runs, for the report. */
  label: string;
  /** Run this variant at most this many times (slow baselines); default: every repetition. */
  maxReps?: number;
  run(rep: number): Promise<Sample>;
  /** Untimed set-up before each run (fresh registry, podman state…). */
  before?(rep: number): Promise<void>;
  /** Untimed clean-up after each run, also after a failure. */
  after?(rep: number): Promise<void>;
}

export type MeasurementStatus = 'ok' | 'failed' | 'unavailable';

export interface Measurement {
  id: string;
  label: string;
  status: MeasurementStatus;
  samples: Sample[];
  /** Why it is not ok. */
  note?: string;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function statsOf(values: readonly number[]): Stats {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

export function wallStats(m: Measurement): Stats | undefined {
  return m.status === 'ok' && m.samples.length > 0 ? statsOf(m.samples.map((s) => s.wallMs)) : undefined;
}

export function peakRss(m: Measurement): number | undefined {
  const v = m.samples.map((s) => s.peakRssKiB).filter((x) => Number.isFinite(x));
  return m.status === 'ok' && v.length > 0 ? Math.max(...v) : undefined;
}

/**
 * Runs the variants alternately, A B A B …, `reps` times each, so drift on a shared
 * machine (page cache, neighbours) spreads over all of them. A variant that fails is
 * recorded as failed and not run again; `unavailable` entries are passed through.
 */
export async function alternate(
  variants: ReadonlyArray<Variant | Measurement>,
  reps: number,
  options: { signal?: AbortSignal; log?: (line: string) => void } = {},
): Promise<Measurement[]> {
  const results = variants.map((v): Measurement =>
    'run' in v ? { id: v.id, label: v.label, status: 'ok', samples: [] } : v,
  );
  for (let rep = 0; rep < reps; rep++) {
    for (const [i, v] of variants.entries()) {
      options.signal?.throwIfAborted();
      const m = results[i]!;
      if (!('run' in v) || m.status !== 'ok' || rep >= (v.maxReps ?? reps)) continue;
      try {
        await v.before?.(rep);
        const sample = await v.run(rep);
        m.samples.push(sample);
        options.log?.(`  ${v.id} #${rep + 1}: ${(sample.wallMs / 1000).toFixed(2)} s, ${(sample.peakRssKiB / 1024).toFixed(0)} MiB`);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        m.status = 'failed';
        m.note = err instanceof Error ? err.message : String(err);
        options.log?.(`  ${v.id} #${rep + 1}: FAILED ${m.note}`);
      } finally {
        await v.after?.(rep).catch((err: unknown) => options.log?.(`  ${v.id}: clean-up failed: ${String(err)}`));
      }
    }
  }
  return results;
}

/** A measurement for something that cannot run here (yet): reported, never timed. */
export function unavailable(id: string, label: string, note: string): Measurement {
  return { id, label, status: 'unavailable', samples: [], note };
}
