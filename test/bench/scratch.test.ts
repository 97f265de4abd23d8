import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCRATCH_NAME, TMPFS_MAGIC, baselineScratch } from '../../bench/scenario-build.ts';
import { TREE_BYTES_PER_ENTRY, scaleTmpfsName, scaleTreeDir } from '../../bench/images.ts';

const shm = existsSync('/dev/shm') && statfsSync('/dev/shm').type === TMPFS_MAGIC ? mkdtempSync('/dev/shm/uai-scratch-test-') : undefined;
const disk = mkdtempSync(join(tmpdir(), 'uai-scratch-test-'));
afterAll(() => {
  if (shm) rmSync(shm, { recursive: true, force: true });
  rmSync(disk, { recursive: true, force: true });
});

describe("bench: the baselines' scratch dir", () => {
  it('is on tmpfs under a fixed name, and removes what a killed run left there', () => {
    if (!shm) throw new Error('this test needs a tmpfs /dev/shm (Debian has one)');
    mkdirSync(join(shm, SCRATCH_NAME, 'seed'), { recursive: true });
    writeFileSync(join(shm, SCRATCH_NAME, 'seed', 'left-over'), 'x');
    const s = baselineScratch(disk, 1 << 20, shm);
    expect(s).toMatchObject({ dir: join(shm, SCRATCH_NAME), onTmpfs: true });
    expect(existsSync(join(s.dir, 'seed'))).toBe(false);
    s.remove();
    expect(existsSync(s.dir)).toBe(false);
  });

  it('falls back to the work dir when tmpfs has no room, or the base is not tmpfs', () => {
    if (!shm) throw new Error('this test needs a tmpfs /dev/shm (Debian has one)');
    expect(baselineScratch(disk, Number.MAX_SAFE_INTEGER, shm)).toMatchObject({ dir: disk, onTmpfs: false });
    // The work dir itself is on disk here (ext4 under the OS temp dir).
    expect(statfsSync(disk).type).not.toBe(TMPFS_MAGIC);
    expect(baselineScratch(disk, 0, disk)).toMatchObject({ dir: disk, onTmpfs: false });
  });
});

describe("bench: the scale tree's dir", () => {
  const GiB = 2 ** 30;

  it('is on tmpfs under a name fixed per work dir and scale, and removes what a killed run left there', () => {
    if (!shm) throw new Error('this test needs a tmpfs /dev/shm (Debian has one)');
    const name = scaleTmpfsName(disk, 'smoke');
    expect(scaleTmpfsName(disk, 'smoke')).toBe(name);
    expect(scaleTmpfsName(disk, 'full')).not.toBe(name);
    expect(scaleTmpfsName(join(disk, 'other'), 'smoke')).not.toBe(name);
    mkdirSync(join(shm, name, 'usr'), { recursive: true });
    const t = scaleTreeDir(disk, 'smoke', 2000, shm, 64 * GiB);
    expect(t).toEqual({ dir: join(shm, name), onTmpfs: true });
    expect(existsSync(t.dir)).toBe(false);
  });

  it('falls back to the work dir when tmpfs or the memory has no room for it, or the base is not tmpfs', () => {
    if (!shm) throw new Error('this test needs a tmpfs /dev/shm (Debian has one)');
    const onDisk = { dir: join(disk, 'quick', 'trees', 'rootfs30k'), onTmpfs: false };
    // 30k entries need ~0.4 GB: not with 1 GiB of free memory (2 GiB stay free for the rest)…
    expect(scaleTreeDir(disk, 'quick', 30_000, shm, 1 * GiB)).toEqual(onDisk);
    expect(scaleTreeDir(disk, 'quick', 30_000, shm, 64 * GiB)).toEqual({ dir: join(shm, scaleTmpfsName(disk, 'quick')), onTmpfs: true });
    // …nor when tmpfs is smaller than the tree.
    const { bavail, bsize } = statfsSync(shm);
    expect(scaleTreeDir(disk, 'quick', Math.ceil((bavail * bsize) / TREE_BYTES_PER_ENTRY) + 1, shm, Number.MAX_SAFE_INTEGER)).toEqual(onDisk);
    expect(scaleTreeDir(disk, 'quick', 30_000, disk, 64 * GiB)).toEqual(onDisk);
  });
});
