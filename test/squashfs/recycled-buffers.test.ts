/**
 * The data path reads compressed bytes into recycled buffers (`buffer-pool.ts`). A buffer
 * reused while something still reads it, or a stored (uncompressed) block handed out as a
 * view of one, would corrupt data that was already yielded. These tests keep every chunk
 * of a whole walk and compare the files only at the end, against the source tree, on real
 * mksquashfs images with stored blocks, stored fragment blocks, runs longer than a run
 * buffer, sparse blocks, and the three codecs with a fast path (gzip, lz4, zstd).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, openSync, ftruncateSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, MemorySource } from '../../src/source/index.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { BufferPool } from '../../src/squashfs/buffer-pool.ts';
import { MAX_RUN } from '../../src/squashfs/data-reader.ts';
import { countedCopy } from '../../src/squashfs/compression/counted.ts';
import { mksquashfs } from '../support/fixtures.ts';

let tmp: string;
let tree: string;
const expected = new Map<string, string>();

function noise(length: number, seed: number): Buffer {
  let s = seed >>> 0;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function text(length: number, seed: number): Buffer {
  const words = ['alpha ', 'beta ', 'gamma ', 'delta\n', `seed${seed} `];
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < length; i++) {
    const w = words[(i * 7 + seed) % words.length]!;
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, length);
}

function put(rel: string, bytes: Buffer): void {
  writeFileSync(join(tree, rel), bytes);
  expected.set(`/${rel}`, createHash('sha256').update(bytes).digest('hex'));
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'uai-recycle-'));
  tree = join(tmp, 'tree');
  for (const d of ['big', 'small-random', 'small-text']) mkdirSync(join(tree, d), { recursive: true });
  // Incompressible blocks are stored uncompressed (bit 24); a run longer than MAX_RUN
  // needs several run buffers; the odd sizes end in fragments.
  put('big/random-a', noise(5 * 4096 + 100, 1));
  put('big/random-long', noise(MAX_RUN + 3 * 4096 + 7, 2));
  put('big/text-long', text(MAX_RUN * 2 + 999, 3));
  for (let i = 0; i < 6; i++) put(`big/mixed-${i}`, Buffer.concat([text(4096 * 3, i), noise(4096 * 2 + i * 37, 10 + i)]));
  // Fragment blocks full of random tails are stored uncompressed too.
  for (let i = 0; i < 40; i++) put(`small-random/f${i}`, noise(100 + i * 97, 100 + i));
  for (let i = 0; i < 80; i++) put(`small-text/f${i}`, text(50 + i * 41, 200 + i));
  // A sparse file: holes become sparse blocks (zeros shared by the reader).
  const sparse = join(tree, 'big/sparse');
  const fd = openSync(sparse, 'w');
  writeSync(fd, noise(4096, 7), 0, 4096, 4096 * 10);
  ftruncateSync(fd, 4096 * 20 + 5);
  closeSync(fd);
  expected.set('/big/sparse', createHash('sha256').update(readFileSync(sparse)).digest('hex'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Walks with data, keeping every chunk until the end; then hashes each file. */
async function hashesAfterWholeWalk(image: SquashfsImage, readAheadBytes: number): Promise<Map<string, string>> {
  const kept = new Map<string, Uint8Array[]>();
  for await (const { entry, data } of image.walkWithData({ readAheadBytes })) {
    if (!data) continue;
    const chunks: Uint8Array[] = [];
    for await (const chunk of data) chunks.push(chunk);
    kept.set(entry.path, chunks);
  }
  const out = new Map<string, string>();
  for (const [path, chunks] of kept) {
    const h = createHash('sha256');
    for (const c of chunks) h.update(c);
    out.set(path, h.digest('hex'));
  }
  return out;
}

describe('recycled read buffers', () => {
  for (const comp of ['gzip', 'lz4', 'zstd'] as const) {
    it(`${comp}: every byte survives a whole walk that kept all chunks (FileSource with readInto)`, async () => {
      const img = join(tmp, `${comp}.sqfs`);
      mksquashfs(tree, img, ['-comp', comp, '-b', '4096', '-all-root', '-no-xattrs']);
      for (const readAheadBytes of [16 * 1024, 4 * 1024 * 1024]) {
        const source = await FileSource.open(img);
        expect(typeof source.readInto).toBe('function');
        const image = await SquashfsImage.open(source);
        const got = await hashesAfterWholeWalk(image, readAheadBytes);
        await image.close();
        expect(got).toEqual(expected);
      }
      // readFile of each file, with all its chunks kept, gives the same bytes.
      const image = await SquashfsImage.open(await FileSource.open(img));
      for (const d of readdirSync(join(tree, 'big'))) {
        const entry = await image.lookup(`/big/${d}`);
        const chunks: Uint8Array[] = [];
        for await (const c of image.readFile(entry)) chunks.push(c);
        const h = createHash('sha256');
        for (const c of chunks) h.update(c);
        expect(h.digest('hex'), d).toBe(expected.get(`/big/${d}`));
      }
      await image.close();
      // The same bytes through a source without readInto (fresh buffers, the old path).
      const bytes = readFileSync(img);
      const plain = new MemorySource(bytes);
      const noInto = { size: plain.size, name: plain.name, read: plain.read.bind(plain), close: plain.close.bind(plain) };
      const image2 = await SquashfsImage.open(noInto);
      expect(await hashesAfterWholeWalk(image2, 64 * 1024)).toEqual(expected);
      await image2.close();
    });
  }
});

describe('BufferPool', () => {
  it('hands a released buffer out again, keeps at most maxFree idle, and never pools an oversized one', () => {
    const pool = new BufferPool(1024, 1);
    const a = pool.acquire(100);
    expect(a.bytes.length).toBe(100);
    a.bytes.fill(1);
    expect(pool.outstanding).toBe(1);
    a.release();
    a.release(); // idempotent
    expect(pool.outstanding).toBe(0);
    const b = pool.acquire(1024);
    expect(b.bytes.buffer).toBe(a.bytes.buffer); // recycled
    const c = pool.acquire(10);
    expect(c.bytes.buffer).not.toBe(b.bytes.buffer); // b still in use: a new one
    b.release();
    c.release(); // only one idle buffer is kept
    const d = pool.acquire(10);
    const e = pool.acquire(10);
    expect(d.bytes.buffer === b.bytes.buffer || d.bytes.buffer === c.bytes.buffer).toBe(true);
    expect(e.bytes.buffer).not.toBe(b.bytes.buffer);
    expect(e.bytes.buffer).not.toBe(c.bytes.buffer);
    const big = pool.acquire(2048);
    expect(big.bytes.length).toBe(2048);
    expect(pool.outstanding).toBe(2);
    big.release();
  });
});

describe('countedCopy (xz/lzma output moved into V8-counted memory)', () => {
  it('gives the same bytes in a buffer of its own, also for a view into a larger buffer', () => {
    const backing = noise(1000, 9);
    const view = backing.subarray(100, 300);
    const copy = countedCopy(view);
    expect(Buffer.from(copy).equals(view)).toBe(true);
    expect(copy.buffer).not.toBe(backing.buffer);
    expect(copy.byteLength).toBe(200);
    backing.fill(0);
    expect(copy[0]).toBe(noise(1000, 9)[100]);
  });
});
