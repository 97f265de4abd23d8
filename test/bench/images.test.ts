/**
 * The scale scenario's image at smoke scale (2k entries): built from a tree that is gone
 * afterwards, reused while its recipe holds, rebuilt when it changes, and its tar bytes and
 * entries measured from the image.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCALE_SEED, prepareScaleImage, scaleTmpfsName } from '../../bench/images.ts';

const work = mkdtempSync(join(tmpdir(), 'uai-bench-images-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const record = join(work, 'smoke', 'images', 'rootfs2k.json');
const sqfs = join(work, 'smoke', 'images', 'rootfs2k-gzip.sqfs');

async function prepare(): Promise<{ log: string[]; image: Awaited<ReturnType<typeof prepareScaleImage>> }> {
  const log: string[] = [];
  const image = await prepareScaleImage(work, 'smoke', (l) => log.push(l));
  return { log, image };
}

describe('bench/images: the scale image', () => {
  it('is built from a 2k-entry tree that is deleted afterwards, with real numbers in its record', async () => {
    const { log, image } = await prepare();
    expect(log.some((l) => l.startsWith('mksquashfs rootfs2k-gzip'))).toBe(true);
    expect(image).toMatchObject({ name: 'rootfs2k-gzip', tree: 'rootfs', compressor: 'gzip', path: sqfs, scenario: 'scale', imageBytes: statSync(sqfs).size });
    expect(image.stats.entries).toBe(2000);
    expect(image.listedEntries).toBe(2000);
    expect(image.tarBytes).toBe(spawnSync('sqfs2tar', [sqfs], { maxBuffer: 1 << 30 }).stdout.length);
    expect(JSON.parse(readFileSync(record, 'utf8')).recipe).toEqual({ version: expect.any(Number), tree: 'rootfs', size: 2000, seed: SCALE_SEED });
    // Only the image and its record are kept.
    expect(existsSync(join('/dev/shm', scaleTmpfsName(work, 'smoke')))).toBe(false);
    expect(existsSync(join(work, 'smoke', 'trees', 'rootfs2k'))).toBe(false);
    // The tree really had the generator's hard links and xattrs.
    expect(image.stats.hardlinks).toBe(20);
    expect(execFileSync('unsquashfs', ['-lls', sqfs], { encoding: 'utf8' })).toContain('usr/bin/uai-ssh.sh');
  });

  it('is reused while its recipe holds, and rebuilt when the recipe changes', async () => {
    const before = statSync(sqfs).mtimeMs;
    const again = await prepare();
    expect(again.log).toEqual([]);
    expect(statSync(sqfs).mtimeMs).toBe(before);

    const r = JSON.parse(readFileSync(record, 'utf8'));
    writeFileSync(record, JSON.stringify({ ...r, recipe: { ...r.recipe, seed: SCALE_SEED + 1 } }));
    const rebuilt = await prepare();
    expect(rebuilt.log.some((l) => l.startsWith('writing the rootfs2k-gzip tree'))).toBe(true);
    expect(JSON.parse(readFileSync(record, 'utf8')).recipe.seed).toBe(SCALE_SEED);
  });

  it('measures the tar bytes and entries of an image whose record does not have them yet', async () => {
    const r = JSON.parse(readFileSync(record, 'utf8'));
    writeFileSync(record, JSON.stringify({ ...r, tarBytes: 0, listedEntries: 0 }));
    const { log, image } = await prepare();
    expect(log).toEqual(['measuring rootfs2k-gzip: sqfs2tar bytes and unsquashfs -l entries']);
    expect(image.tarBytes).toBe(r.tarBytes);
    expect(image.listedEntries).toBe(2000);
  });
});
