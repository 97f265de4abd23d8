import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatBytes, formatDuration } from '../../src/cli/progress.ts';

function sink(): { stream: Writable; text: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  return { stream, text: () => out };
}

describe('build progress', () => {
  it('on a TTY: one line redrawn with \\r, with bytes, rate and ETA, throttled', () => {
    const s = sink();
    let now = 0;
    const p = createProgress(s.stream, { tty: true, now: () => now });
    p.onProgress({ phase: 'layer', bytes: 0, total: 100 * 1024 * 1024 });
    now = 2000;
    p.onProgress({ phase: 'layer', bytes: 20 * 1024 * 1024, total: 100 * 1024 * 1024 });
    now = 2050; // within 100 ms: not drawn
    p.onProgress({ phase: 'layer', bytes: 21 * 1024 * 1024, total: 100 * 1024 * 1024 });
    p.finish();
    const text = s.text();
    const frames = text.split('\r\x1b[K').filter((f) => f !== '');
    expect(frames).toHaveLength(2);
    expect(frames[1]).toBe('streaming the layer: 20.0 MiB of ~100.0 MiB (20%), 10.0 MiB/s, ETA 8s');
    expect(text.endsWith('\r\x1b[K')).toBe(true); // cleared at the end
    expect(text).not.toContain('\n');
  });

  it('otherwise: plain lines, one per phase and at most one per 5 s of streaming', () => {
    const s = sink();
    let now = 0;
    const p = createProgress(s.stream, { tty: false, now: () => now });
    p.onProgress({ phase: 'resolve' });
    p.onProgress({ phase: 'layer', bytes: 0 });
    now = 1000;
    p.onProgress({ phase: 'layer', bytes: 1024 });
    now = 6000;
    p.onProgress({ phase: 'layer', bytes: 6 * 1024 * 1024 });
    p.onProgress({ phase: 'done' });
    expect(s.text().split('\n').filter(Boolean)).toEqual([
      'resolving the source',
      'streaming the layer: 0 B',
      'streaming the layer: 6.0 MiB, 1.0 MiB/s',
      'done',
    ]);
  });

  it('prints nothing with --quiet', () => {
    const s = sink();
    const p = createProgress(s.stream, { tty: true, quiet: true });
    p.onProgress({ phase: 'layer', bytes: 5 });
    p.finish();
    expect(s.text()).toBe('');
  });

  it('formats sizes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(61)).toBe('1m01s');
    expect(formatDuration(7260)).toBe('2h01m');
  });
});
