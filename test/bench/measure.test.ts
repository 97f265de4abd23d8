import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Group } from '../../bench/context.ts';
import { alternate, median, peakRss, runMeasured, sampleOf, statsOf, unavailable, type Measurement, type Variant } from '../../bench/measure.ts';
import { cpuCeiling, evaluateTargets, runCpuMs, speedup } from '../../bench/targets.ts';
import type { BenchImage } from '../../bench/images.ts';

const MiB = 1024;

function shVariant(id: string, script: string, order: string[]): Variant {
  return {
    id,
    label: script,
    async run() {
      order.push(id);
      const { stdout: _, ...sample } = await sampleOf('sh', ['-c', script]);
      return sample;
    },
  };
}

describe('bench/measure', () => {
  it('reads the peak RSS of a real process from GNU time', async () => {
    const big = await runMeasured(process.execPath, ['-e', 'const b = Buffer.alloc(96 * 2 ** 20, 1); console.log(b[5])'], { stdout: 'capture' });
    const small = await runMeasured('true', []);
    expect(big.exitCode).toBe(0);
    expect(big.stdout.trim()).toBe('1');
    expect(big.peakRssKiB).toBeGreaterThanOrEqual(96 * MiB);
    expect(small.peakRssKiB).toBeGreaterThan(0);
    expect(small.peakRssKiB).toBeLessThan(big.peakRssKiB / 4);
    expect(big.wallMs).toBeGreaterThan(0);
    expect(big.cpuMs).toBeGreaterThanOrEqual(0);
  });

  it('kills a run that exceeds its time limit, children included', async () => {
    const marker = `sleep 31.${process.pid}`;
    const r = await runMeasured('sh', ['-c', `${marker} & sleep 32; echo never`], { timeoutMs: 500, stdout: 'capture' });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderrTail).toContain('timed out after 0.5 s');
    const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n');
    expect(processes.filter((p) => p.startsWith(marker))).toEqual([]);
  });

  it('alternates the variants A B A B and honours maxReps', async () => {
    const order: string[] = [];
    const slow = { ...shVariant('C', 'true', order), maxReps: 1 };
    const results = await alternate([shVariant('A', 'true', order), shVariant('B', 'true', order), slow], 3);
    expect(order).toEqual(['A', 'B', 'C', 'A', 'B', 'A', 'B']);
    expect(results.map((r) => [r.id, r.status, r.samples.length])).toEqual([
      ['A', 'ok', 3],
      ['B', 'ok', 3],
      ['C', 'ok', 1],
    ]);
    for (const s of results.flatMap((r) => r.samples)) expect(s.peakRssKiB).toBeGreaterThan(0);
  });

  it('records a failing variant with its stderr, stops repeating it, and passes unavailable ones through', async () => {
    const order: string[] = [];
    const results = await alternate(
      [shVariant('bad', 'echo boom-on-stderr >&2; exit 3', order), unavailable('later', 'x', 'not available yet'), shVariant('good', 'true', order)],
      2,
    );
    expect(order).toEqual(['bad', 'good', 'good']);
    expect(results[0]!.status).toBe('failed');
    expect(results[0]!.note).toContain('status 3');
    expect(results[0]!.note).toContain('boom-on-stderr');
    expect(results[1]!.status).toBe('unavailable');
    expect(results[2]!.samples).toHaveLength(2);
  });

  it('computes medians and ratios from the samples it measured', async () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(statsOf([2, 9, 4])).toEqual({ median: 4, min: 2, max: 9 });

    const order: string[] = [];
    const image = { name: 'img-gzip', tree: 'rootfs', compressor: 'gzip', listedEntries: 1000 } as BenchImage;
    const measurements = await alternate(
      [shVariant('tar/sqfs2tar/img-gzip', 'sleep 0.2', order), shVariant('tar/uai/img-gzip', 'sleep 0.05', order)],
      3,
    );
    const group: Group = { scenario: 'tar', title: 't', image, unit: { kind: 'bytes', perRun: 1 }, measurements };
    const slow = median(measurements[0]!.samples.map((s) => s.wallMs));
    const fast = median(measurements[1]!.samples.map((s) => s.wallMs));
    const r = speedup([group], 'tar/sqfs2tar/img-gzip', 'tar/uai/img-gzip');
    expect(r.value).toBeCloseTo(slow / fast, 10);
    const tarGzip = evaluateTargets([group], [image]).find((t) => t.id === 'tar-gzip')!;
    expect(tarGzip.rows[0]!.value).toBeCloseTo(slow / fast, 10);
    expect(tarGzip.rows[0]!.met).toBe(slow / fast >= 1.5);
    const rss = evaluateTargets([group], [image]).find((t) => t.id === 'rss')!;
    expect(rss.rows[0]!.value).toBeCloseTo(peakRss(measurements[1]!)! / MiB, 10);
    // Nothing measured for build: the target says so instead of inventing a number.
    const build = evaluateTargets([group], [image]).find((t) => t.id === 'build-none')!;
    expect(build.verdict).toBe('not measured');
    expect(build.rows[0]!.value).toBeUndefined();
  });

  it('bounds a speed-up by the CPU the fast side used (its own and the registry\'s) spread over the cores', () => {
    const m = (id: string, samples: Array<{ wallMs: number; cpuMs: number; registryCpuMs?: number }>): Measurement => ({
      id,
      label: id,
      status: 'ok',
      samples: samples.map((x) => ({ wallMs: x.wallMs, peakRssKiB: 1, cpuMs: x.cpuMs, ...(x.registryCpuMs === undefined ? {} : { extra: { registryCpuMs: x.registryCpuMs } }) })),
    });
    const image = { name: 'img-gzip', compressor: 'gzip', tree: 'rootfs' } as unknown as BenchImage;
    const measurements = [
      m('build/seed/img-gzip', [{ wallMs: 60_000, cpuMs: 80_000 }]),
      m('build/uai-none/img-gzip', [
        { wallMs: 9_000, cpuMs: 9_000, registryCpuMs: 5_000 },
        { wallMs: 8_000, cpuMs: 8_000, registryCpuMs: 4_000 },
        { wallMs: 10_000, cpuMs: 10_000, registryCpuMs: 6_000 },
      ]),
    ];
    const group: Group = { scenario: 'build', title: 'b', image, unit: { kind: 'bytes', perRun: 1 }, measurements };
    expect(runCpuMs(measurements[1])).toBe(14_000);
    expect(cpuCeiling([group], 'build/seed/img-gzip', 'build/uai-none/img-gzip', 2)).toBeCloseTo(60_000 / 7_000, 10);
    const row = evaluateTargets([group], [image], undefined, 2).find((t) => t.id === 'build-none')!.rows[0]!;
    expect(row.value).toBeCloseTo(60_000 / 9_000, 10);
    expect(row.met).toBe(false);
    expect(row.text).toBe(`${(60_000 / 9_000).toFixed(2)}× (at most ${(60_000 / 7_000).toFixed(2)}× on 2 cores at the CPU it used)`);
    // Without the core count the row is the plain ratio.
    expect(evaluateTargets([group], [image]).find((t) => t.id === 'build-none')!.rows[0]!.text).toBe(`${(60_000 / 9_000).toFixed(2)}×`);
  });
});
