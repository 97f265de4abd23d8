/**
 * The per-image targets with the scale scenario's image among the images: every number
 * is computed from the samples given here.
 */
import { describe, expect, it } from 'vitest';
import type { Group } from '../../bench/context.ts';
import type { BenchImage } from '../../bench/images.ts';
import type { Measurement } from '../../bench/measure.ts';
import { evaluateTargets, rssGrowth } from '../../bench/targets.ts';
import { renderReport, type Results } from '../../bench/report.ts';

const MiB = 1024;

const image = (name: string, listedEntries: number, scale = false): BenchImage =>
  ({ name, tree: name.startsWith('large') ? 'large' : 'rootfs', compressor: 'gzip', listedEntries, tarBytes: 1, ...(scale ? { scenario: 'scale' } : {}) }) as BenchImage;

/** A measurement whose runs peaked at these MiB (wall time = 1 s per MiB, to tell runs apart). */
const m = (id: string, ...peaksMiB: number[]): Measurement => ({
  id,
  label: id,
  status: 'ok',
  samples: peaksMiB.map((p) => ({ wallMs: p * 1000, peakRssKiB: p * MiB, cpuMs: 1 })),
});

const rootfs = image('rootfs-gzip', 102_000);
const large = image('large-gzip', 40);
const big = image('rootfs600k-gzip', 600_000, true);

function groups(scalePeaks: { ls: number; tar: number; local: number; s3: number }): Group[] {
  const g = (img: BenchImage, measurements: Measurement[]): Group => ({ scenario: 'tar', title: img.name, image: img, unit: { kind: 'bytes', perRun: 1 }, measurements });
  return [
    g(rootfs, [
      m('ls/uai/rootfs-gzip', 150, 152),
      m('tar/uai/rootfs-gzip', 200, 190, 198),
      m('tar/sqfs2tar/rootfs-gzip', 5),
      m('build/uai-none/rootfs-gzip', 180),
      m('build/uai-gzip/rootfs-gzip', 230),
      m('build/seed/rootfs-gzip', 900),
      m('s3/local/rootfs-gzip', 190),
      m('s3/s3/rootfs-gzip', 240, 236),
    ]),
    g(large, [m('tar/uai/large-gzip', 120), m('build/uai-none/large-gzip', 130), m('build/seed/large-gzip', 900)]),
    g(big, [
      m('ls/uai/rootfs600k-gzip', scalePeaks.ls),
      m('tar/uai/rootfs600k-gzip', scalePeaks.tar),
      m('tar/sqfs2tar/rootfs600k-gzip', 40),
      m('s3/local/rootfs600k-gzip', scalePeaks.local),
      m('s3/s3/rootfs600k-gzip', scalePeaks.s3),
    ]),
  ];
}

describe('bench/targets with the scale image', () => {
  it('gives the scale image its own peak-RSS row and states how the peak grows from rootfs-gzip', () => {
    const gs = groups({ ls: 204, tar: 210, local: 251, s3: 282 });
    const rss = evaluateTargets(gs, [rootfs, large, big]).find((t) => t.id === 'rss')!;
    expect(rss.rows.map((r) => [r.image, r.value, r.met])).toEqual([
      ['rootfs-gzip', 240, true], // the seed pipeline's 900 MiB is not an uai-assemble run
      ['large-gzip', 130, true],
      ['rootfs600k-gzip', 282, false],
      ['rootfs-gzip → rootfs600k-gzip', 282 / 240, undefined],
    ]);
    const growth = rss.rows[3]!;
    expect(growth.info).toBe(true);
    // build/uai-gzip (230) ran on rootfs-gzip only, so it is left out of the comparison.
    expect(growth.text).toBe('240 → 282 MiB, ×1.18 for ×5.9 the entries (102k → 600k; ls 152 → 204, tar 200 → 210, build 190 → 251, build from S3 240 → 282 MiB)');
    expect(rss.verdict).toBe('partly met');
  });

  it('leaves the growth row out of the verdict', () => {
    const rss = evaluateTargets(groups({ ls: 204, tar: 210, local: 251, s3: 250 }), [rootfs, large, big]).find((t) => t.id === 'rss')!;
    expect(rss.rows.map((r) => r.met)).toEqual([true, true, true, undefined]);
    expect(rss.verdict).toBe('met');
  });

  it('gives the scale image rows where it ran both sides (tar, S3, ls), none where it ran neither (seed pipeline)', () => {
    const gs = groups({ ls: 204, tar: 210, local: 251, s3: 282 });
    const startupMs = 40;
    const targets = evaluateTargets(gs, [rootfs, large, big], startupMs);
    const rows = (id: string) => targets.find((t) => t.id === id)!.rows.map((r) => [r.image, r.value]);
    expect(rows('tar-gzip')).toEqual([
      ['rootfs-gzip', 5 / 198],
      ['large-gzip', undefined],
      ['rootfs600k-gzip', 40 / 210],
    ]);
    expect(rows('s3')).toEqual([
      ['rootfs-gzip', 238 / 190],
      ['large-gzip', undefined],
      ['rootfs600k-gzip', 282 / 251],
    ]);
    expect(rows('build-none')).toEqual([
      ['rootfs-gzip', 900 / 180],
      ['large-gzip', 900 / 130],
    ]);
    expect(rows('ls').find(([name]) => name === 'rootfs600k-gzip')![1]).toBeCloseTo(600_000 / ((204_000 - startupMs) / 1000), 10);
  });

  it('says why there is no growth row value when rootfs-gzip or a common command is missing', () => {
    expect(rssGrowth([], [rootfs, large])).toBeUndefined();
    expect(rssGrowth([], [big])).toMatchObject({ image: 'rootfs-gzip → rootfs600k-gzip', text: 'n/a', info: true, note: 'the rootfs-like bench image was not measured in this run' });
    const onlyBuildGzip: Group[] = [{ scenario: 'build', title: 'b', image: rootfs, unit: { kind: 'bytes', perRun: 1 }, measurements: [m('build/uai-gzip/rootfs-gzip', 230)] }];
    expect(rssGrowth([...onlyBuildGzip, groups({ ls: 1, tar: 1, local: 1, s3: 1 })[2]!], [rootfs, big])).toMatchObject({
      text: 'n/a',
      note: 'no uai-assemble command was measured on both images',
    });
  });

  it('shows the growth row in the report, the scale image marked in the images table', () => {
    const gs = groups({ ls: 204, tar: 210, local: 251, s3: 282 });
    const results = {
      machine: { nproc: 2, cpu: 'x', memoryGiB: 1, kernel: 'k', node: 'n', commit: 'c', date: 'd', loadStart: [0, 0, 0], tools: {} },
      options: { scale: 'full', reps: 3, slowReps: 2, scaleReps: 1, only: ['scale'] },
      command: 'node bench/run.ts',
      images: [rootfs, large, big].map((i) => ({ ...i, stats: { entries: i.listedEntries, dirs: 0, files: 0, symlinks: 0, hardlinks: 0, xattrFiles: 0, fileBytes: 0 }, imageBytes: 1 })),
      groups: gs,
      targets: evaluateTargets(gs, [rootfs, large, big]),
      profiles: [],
      notes: [],
      durationMs: 1,
    } as unknown as Results;
    const text = renderReport(results);
    expect(text).toContain('<br>rootfs-gzip → rootfs600k-gzip: 240 → 282 MiB, ×1.18 for ×5.9 the entries');
    expect(text).toContain('rootfs600k-gzip: 282 MiB ✗');
    expect(text).toContain('| rootfs600k-gzip (scale scenario only) | 600000 |');
    expect(text).toContain('1 for the scale runs)');
  });
});
