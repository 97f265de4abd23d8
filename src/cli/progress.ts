/**
 * Build progress on stderr. On a terminal: one live line (phase, bytes, rate, ETA),
 * redrawn in place with \r at most every 100 ms. Otherwise: plain lines, one per phase
 * and at most one every 5 s while the layer streams. Nothing with --quiet.
 */
import type { Writable } from 'node:stream';
import type { BuildProgress } from '../build/publish.ts';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const PHASES: Record<BuildProgress['phase'], string> = {
  resolve: 'resolving the source',
  check: 'checking the rootfs',
  prepare: 'checking destinations',
  layer: 'streaming the layer',
  commit: 'writing config and manifest',
  done: 'done',
};

export interface ProgressReporter {
  onProgress(event: BuildProgress): void;
  /** Clears the live line before other output (warnings, the result). */
  clear(): void;
  finish(): void;
}

export function createProgress(stderr: Writable, options: { tty: boolean; quiet?: boolean; now?: () => number }): ProgressReporter {
  const now = options.now ?? (() => Date.now());
  if (options.quiet) return { onProgress() {}, clear() {}, finish() {} };
  let phase: BuildProgress['phase'] | undefined;
  let started = now();
  let lastDraw = 0;
  let live = false;

  const line = (e: BuildProgress): string => {
    if (e.phase !== 'layer' || e.bytes === undefined) return PHASES[e.phase];
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? e.bytes / elapsed : 0;
    let text = `${PHASES.layer}: ${formatBytes(e.bytes)}`;
    if (e.total) text += ` of ~${formatBytes(e.total)} (${Math.min(99, Math.floor((e.bytes / e.total) * 100))}%)`;
    if (rate > 0) text += `, ${formatBytes(rate)}/s`;
    if (e.total && rate > 0) text += `, ETA ${formatDuration(Math.max(0, e.total - e.bytes) / rate)}`;
    return text;
  };

  const clear = () => {
    if (live) {
      stderr.write('\r\x1b[K');
      live = false;
    }
  };

  return {
    onProgress(e) {
      const changed = e.phase !== phase;
      if (changed) {
        phase = e.phase;
        started = now();
      }
      const t = now();
      if (options.tty) {
        if (!changed && t - lastDraw < 100) return;
        lastDraw = t;
        stderr.write(`\r\x1b[K${line(e)}`);
        live = true;
      } else {
        if (!changed && t - lastDraw < 5000) return;
        lastDraw = t;
        stderr.write(`${line(e)}\n`);
      }
    },
    clear,
    finish() {
      clear();
    },
  };
}
