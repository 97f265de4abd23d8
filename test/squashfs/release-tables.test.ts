/**
 * Once `SquashfsImage.open` has decoded the tables it tells the source (`release`) that
 * the table area will not be read again, so a caching source (S3) frees its pinned tail;
 * and that is true: a whole walk with data and lookups never reads there again.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemorySource, type ByteSource, type ReadOptions } from '../../src/source/index.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { fixturePath, parseSuperblock } from '../support/fixtures.ts';

class SpySource implements ByteSource {
  readonly inner: MemorySource;
  readonly size: number;
  readonly name = 'spy';
  readonly reads: Array<{ offset: number; length: number; afterRelease: boolean }> = [];
  readonly released: Array<{ offset: number; length: number }> = [];

  constructor(bytes: Uint8Array) {
    this.inner = new MemorySource(bytes, 'spy');
    this.size = bytes.length;
  }

  read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    this.reads.push({ offset, length, afterRelease: this.released.length > 0 });
    return this.inner.read(offset, length, options);
  }

  release(ranges: ReadonlyArray<{ offset: number; length: number }>): void {
    this.released.push(...ranges);
  }

  async close(): Promise<void> {}
}

describe('SquashfsImage.open releases the table area', () => {
  for (const name of ['tree-gzip-4k-nofrag.sqfs', 'tree-gzip-1m-allfrag.sqfs', 'ng-tree-xz.sqfs']) {
    it(`${name}: release([inode table start, source end)) once, and no read there after it`, async () => {
      const bytes = readFileSync(fixturePath(name));
      const sb = parseSuperblock(bytes);
      const source = new SpySource(bytes);
      const image = await SquashfsImage.open(source);
      const inodeTableStart = sb.inodeTableStart;
      // Up to the source's end: the padding after bytes_used is never read either.
      expect(bytes.length).toBeGreaterThan(sb.bytesUsed);
      expect(source.released).toEqual([{ offset: inodeTableStart, length: bytes.length - inodeTableStart }]);
      // The tables were read before the release: it came after them, not before.
      expect(source.reads.some((r) => !r.afterRelease && r.offset >= inodeTableStart)).toBe(true);

      let files = 0;
      for await (const item of image.walkWithData()) {
        if (!item.data) continue;
        files++;
        for await (const chunk of item.data) void chunk;
      }
      await image.lookup('/');
      expect(files).toBeGreaterThan(0);
      const late = source.reads.filter((r) => r.afterRelease);
      expect(late.length).toBeGreaterThan(0);
      expect(late.filter((r) => r.offset + r.length > inodeTableStart)).toEqual([]);
      await image.close();
    });
  }
});
