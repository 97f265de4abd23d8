import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource } from '../../src/source/index.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';

// A compute rootfs can hold a huge sparse /var/log/lastlog (large uids). Sparse blocks cost
// nothing to produce, so they must not count against the overlapping-data cap.
describe('the output cap and sparse files', () => {
  let dir: string;
  let image: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'uai-sparse-'));
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'var/log'), { recursive: true });
    const lastlog = join(tree, 'var/log/lastlog');
    writeFileSync(lastlog, 'x'.repeat(1000));
    truncateSync(lastlog, 3 * 1024 ** 3 + 12345); // 3 GiB, all but the first block sparse
    writeFileSync(join(tree, 'hello'), 'hello\n');
    image = join(dir, 'img.sqfs');
    execFileSync('mksquashfs', [tree, image, '-noappend', '-quiet', '-no-progress'], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('walks and reads an image whose sparse file is far larger than the cap', async () => {
    const img = await SquashfsImage.open(await FileSource.open(image));
    try {
      expect(img.limits.maxOutputBytes).toBeLessThan(3 * 1024 ** 3);
      const entries = [];
      for await (const e of img.walk()) entries.push(e);
      const lastlog = entries.find((e) => e.path === '/var/log/lastlog')!;
      expect(lastlog.size).toBe(3 * 1024 ** 3 + 12345);
      for await (const chunk of img.readFile(lastlog)) {
        expect(Buffer.from(chunk.subarray(0, 3)).toString()).toBe('xxx');
        break;
      }
    } finally {
      await img.close();
    }
  });

  it('still refuses when the non-sparse data alone is over the cap', async () => {
    const img = await SquashfsImage.open(await FileSource.open(image), { limits: { maxOutputBytes: 500 } });
    try {
      const walk = async () => {
        for await (const _ of img.walk()) void _;
      };
      await expect(walk()).rejects.toMatchObject({ code: 'UAI_SQFS_LIMIT' });
    } finally {
      await img.close();
    }
  });
});
