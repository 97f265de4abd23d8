import { describe, expect, it } from 'vitest';
import { BenchUsageError, SCENARIOS, USAGE, parseOptions } from '../../bench/options.ts';
import { whatToBuild } from '../../bench/run.ts';

describe('bench/options', () => {
  it('runs the scale scenario by default and alone with --only scale', () => {
    expect(SCENARIOS).toContain('scale');
    expect([...parseOptions([]).only]).toEqual(['tar', 'build', 's3', 'ls', 'scale']);
    expect([...parseOptions(['--only', 'scale']).only]).toEqual(['scale']);
    expect([...parseOptions(['--only=ls,scale']).only]).toEqual(['ls', 'scale']);
    expect(() => parseOptions(['--only', 'scale,huge'])).toThrow(/unknown scenario 'huge' \(tar, build, s3, ls, scale\)/);
    expect(USAGE).toContain('--only tar|build|s3|ls|scale');
  });

  it('runs the scale runs once unless --reps or --slow-reps asks for more (never more than --reps)', () => {
    expect(parseOptions([])).toMatchObject({ reps: 3, slowReps: 2, scaleReps: 1 });
    expect(parseOptions(['--quick'])).toMatchObject({ reps: 1, slowReps: 1, scaleReps: 1 });
    expect(parseOptions(['--reps', '2'])).toMatchObject({ reps: 2, slowReps: 2, scaleReps: 2 });
    expect(parseOptions(['--slow-reps', '3'])).toMatchObject({ reps: 3, slowReps: 3, scaleReps: 3 });
    expect(parseOptions(['--reps', '3', '--slow-reps', '1'])).toMatchObject({ scaleReps: 1 });
    expect(parseOptions(['--reps', '2', '--slow-reps', '5'])).toMatchObject({ slowReps: 2, scaleReps: 2 });
  });

  it('takes the scale image in --images only under the name it has at the chosen scale', () => {
    expect([...parseOptions(['--images', 'rootfs-gzip,rootfs600k-gzip']).images!]).toEqual(['rootfs-gzip', 'rootfs600k-gzip']);
    expect([...parseOptions(['--quick', '--images', 'rootfs30k-gzip']).images!]).toEqual(['rootfs30k-gzip']);
    expect([...parseOptions(['--images', 'rootfs2k-gzip', '--smoke']).images!]).toEqual(['rootfs2k-gzip']);
    expect(() => parseOptions(['--quick', '--images', 'rootfs600k-gzip'])).toThrow(/scale image at scale quick is rootfs30k-gzip, not rootfs600k-gzip/);
    expect(() => parseOptions(['--images', 'rootfs600k-xz'])).toThrow(BenchUsageError);
    expect(() => parseOptions(['--images', 'rootfs600-gzip'])).toThrow(/unknown image 'rootfs600-gzip'/);
    expect(USAGE).toContain('rootfs600k-gzip (rootfs30k-gzip with --quick, rootfs2k-gzip with --smoke)');
  });

  it('builds no other bench image for the scale scenario alone', () => {
    expect(whatToBuild(parseOptions(['--only', 'scale']))).toEqual({ trees: [], compressors: ['gzip'] });
    expect(whatToBuild(parseOptions(['--only', 'ls,scale'])).trees).toEqual(['rootfs']);
    expect(whatToBuild(parseOptions([]))).toEqual({ trees: ['rootfs', 'large'], compressors: ['gzip', 'xz', 'zstd', 'lz4'] });
    // Naming only the scale image leaves the other trees out.
    expect(whatToBuild(parseOptions(['--images', 'rootfs600k-gzip'])).trees).toEqual([]);
  });
});
