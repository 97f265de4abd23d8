/**
 * The large fixtures, built on demand into fixtures/build/ (gitignored, cached between
 * runs) by fixtures/build.sh: a 5 GiB sparse file (u64 sizes, > 4 GiB offsets into the
 * block list, 40,000 sparse blocks streamed as zeros) and an image of 20,000 entries.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSource } from '../../src/source/index.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { stopDecoderWorkers } from '../../src/squashfs/compression/index.ts';
import { BUILD_DIR, compareWithLln, compareWithTree, expectedListing, largeFixture, readAll, unsquashfsLln } from '../support/fixtures.ts';

afterAll(async () => {
  await stopDecoderWorkers();
});

describe('sparse-5g', () => {
  // The first run builds the image (~30 s on a quiet machine; cached after that).
  it('streams a 5 GiB sparse file with the right size, hash and non-zero bytes', { timeout: 600_000 }, async () => {
    const path = largeFixture('sparse-5g');
    const expected = expectedListing(`${BUILD_DIR}/sparse-5g.expected.jsonl`);
    const image = await SquashfsImage.open(await FileSource.open(path), { limits: { maxOutputBytes: 8 * 1024 ** 3 } });
    try {
      const entry = await image.lookup('/sparse-5g');
      const want = expected.get(Buffer.from('sparse-5g').toString('hex'))!;
      expect(entry.size).toBe(5 * 1024 ** 3 + 12345);
      expect(entry.size).toBe(want.size);
      const hash = createHash('sha256');
      let total = 0;
      let nonZero = 0;
      let zeros = Buffer.alloc(1 << 20);
      for await (const chunk of image.readFile(entry)) {
        hash.update(chunk);
        total += chunk.length;
        if (zeros.length < chunk.length) zeros = Buffer.alloc(chunk.length);
        // memcmp against zeros first: almost every chunk is a hole.
        const view = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (!view.equals(zeros.subarray(0, chunk.length))) for (const b of chunk) if (b !== 0) nonZero++;
      }
      expect(total).toBe(entry.size);
      expect(hash.digest('hex')).toBe(want.sha256);
      expect(nonZero).toBeGreaterThan(300);
      expect(nonZero).toBeLessThanOrEqual(400);
    } finally {
      await image.close();
    }
    expect(unsquashfsLln(path).find((l) => l.path === '/sparse-5g')?.size).toBe(5 * 1024 ** 3 + 12345);
  });
});

describe('many-entries', () => {
  it('matches unsquashfs -lln and the source tree for 20,000 entries', { timeout: 600_000 }, async () => {
    const path = largeFixture('many-entries');
    const read = await readAll(path);
    expect(read.entries.length).toBe(1 + 40 + 40 * 500);
    compareWithLln(read.entries, unsquashfsLln(path));
    compareWithTree({ name: 'many-entries', options: '' }, read, expectedListing(`${BUILD_DIR}/many-entries.expected.jsonl`));
  });
});
