/**
 * The long-lived node:zlib decoder streams behind gzip's and zstd's async path: a lane is
 * reused for the next block only when that is safe (a whole chunk of output, nothing after
 * the end of the stream, no error), a bomb stops at the limit, a damaged block costs only
 * its own lane, and lanes that are not kept are destroyed.
 */
import { randomBytes } from 'node:crypto';
import { deflateSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createDecompressor } from '../../src/squashfs/compression/index.ts';
import { gzipLaneStream } from '../../src/squashfs/compression/gzip.ts';
import { zstdLaneStream } from '../../src/squashfs/compression/zstd.ts';
import { ZlibLanes, type ZlibDecoderFactory } from '../../src/squashfs/compression/zlib-lanes.ts';

const SIZE = 64 * 1024;

/** `n` bytes that compress, different for every `seed`. */
function block(seed: number, n = SIZE): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 31 + i * 7 + (i >> 6)) & 0xff;
  return out;
}

/** The codec's own lane streams, counting the bytes they hand out and the streams closed. */
function counted(codec: 'gzip' | 'zstd') {
  const stats = { emitted: 0, closed: 0 };
  const make = codec === 'gzip' ? gzipLaneStream : zstdLaneStream;
  const factory: ZlibDecoderFactory = (chunkSize) => {
    const stream = make(chunkSize);
    stream.on('data', (chunk: Buffer) => (stats.emitted += chunk.length));
    stream.on('close', () => stats.closed++);
    return stream;
  };
  return { lanes: new ZlibLanes(codec, factory, `damaged ${codec} block`), stats };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('zlib lanes', () => {
  it('full blocks, one after another, all go through one lane', async () => {
    const { lanes } = counted('gzip');
    for (let i = 0; i < 20; i++) {
      const out = await lanes.decode(deflateSync(block(i)), SIZE);
      expect(Buffer.from(out).equals(block(i))).toBe(true);
    }
    expect(lanes.created).toBe(1);
  });

  it('blocks in flight together get a lane each, and the next round reuses them', async () => {
    const { lanes } = counted('gzip');
    const round = async (base: number) => {
      const outs = await Promise.all(Array.from({ length: 16 }, (_, i) => lanes.decode(deflateSync(block(base + i)), SIZE)));
      outs.forEach((out, i) => expect(Buffer.from(out).equals(block(base + i))).toBe(true));
    };
    await round(0);
    const first = lanes.created;
    expect(first).toBeGreaterThan(1);
    expect(first).toBeLessThanOrEqual(16);
    await round(100);
    expect(lanes.created).toBe(first);
  });

  it('a block shorter than a chunk retires its lane (the rest of its buffer would take the next block)', async () => {
    const { lanes } = counted('gzip');
    const short = await lanes.decode(deflateSync(block(1, 1000)), SIZE);
    expect(Buffer.from(short).equals(block(1, 1000))).toBe(true);
    const full = await lanes.decode(deflateSync(block(2)), SIZE);
    expect(Buffer.from(full).equals(block(2))).toBe(true);
    expect(lanes.created).toBe(2);
  });

  it('gzip: blocks with different window sizes decode one after another on one lane', async () => {
    // reset() keeps the first header's window size; a smaller one first must not make a
    // later block with the full 32 KiB window fail.
    const { lanes } = counted('gzip');
    for (const [i, windowBits] of [9, 15, 8, 12, 15].entries()) {
      const out = await lanes.decode(deflateSync(block(20 + i), { windowBits }), SIZE);
      expect(Buffer.from(out).equals(block(20 + i)), `windowBits ${windowBits}`).toBe(true);
    }
    expect(lanes.created).toBe(1);
  });

  it('gzip: bytes after the end of the stream leave the output standing and the lane out of use', async () => {
    const { lanes } = counted('gzip');
    const out = await lanes.decode(Buffer.concat([deflateSync(block(3)), Buffer.from('trailing')]), SIZE);
    expect(Buffer.from(out).equals(block(3))).toBe(true);
    const next = await lanes.decode(deflateSync(block(4)), SIZE);
    expect(Buffer.from(next).equals(block(4))).toBe(true);
    expect(lanes.created).toBe(2);
  });

  it('a damaged block fails alone: UAI_SQFS_DECOMPRESS, then the next block decodes on a new lane', async () => {
    for (const codec of ['gzip', 'zstd'] as const) {
      const { lanes } = counted(codec);
      const pack = (b: Buffer) => (codec === 'gzip' ? deflateSync(b) : zstdCompressSync(b));
      await lanes.decode(pack(block(5)), SIZE);
      const damaged = Buffer.from(pack(randomBytes(SIZE)));
      damaged.fill(0x55, 6, 40);
      await expect(lanes.decode(damaged, SIZE), codec).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
      const next = await lanes.decode(pack(block(7)), SIZE);
      expect(Buffer.from(next).equals(block(7)), codec).toBe(true);
      expect(lanes.created, codec).toBe(2);
    }
  });

  it('a block that ends early is an error, not short output (every write is final), and the next one decodes', async () => {
    for (const [id, pack] of [
      [1, deflateSync],
      [6, zstdCompressSync],
    ] as const) {
      const dec = createDecompressor(id);
      for (const cut of [1, 10, 2000]) {
        const packed = pack(block(8 + cut));
        await expect(dec.decompress(packed.subarray(0, packed.length - cut), SIZE), `${dec.name} cut ${cut}`).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
        expect(Buffer.from(await dec.decompress(pack(block(cut)), SIZE)).equals(block(cut))).toBe(true);
      }
    }
  });

  it('a bomb stops at the limit: the stream hands out at most a chunk past it', async () => {
    for (const [codec, bomb] of [
      ['gzip', deflateSync(Buffer.alloc(64 << 20))],
      ['zstd', zstdCompressSync(Buffer.alloc(64 << 20))],
    ] as const) {
      const { lanes, stats } = counted(codec);
      await expect(lanes.decode(bomb, SIZE), codec).rejects.toThrow(/limit of 65536/);
      expect(stats.emitted, codec).toBeLessThanOrEqual(2 * SIZE);
    }
  });

  it('zstd: frames of random and compressible data, in flight together and one by one, through the codec', async () => {
    const dec = createDecompressor(6);
    const inputs = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? randomBytes(SIZE) : block(i)));
    const outs = await Promise.all(inputs.map((b) => dec.decompress(zstdCompressSync(b), SIZE)));
    outs.forEach((out, i) => expect(Buffer.from(out).equals(inputs[i]!)).toBe(true));
    for (const b of inputs) expect(Buffer.from(await dec.decompress(zstdCompressSync(b), SIZE)).equals(b)).toBe(true);
  });

  it('at most 32 idle lanes are kept, the others are destroyed, and close() destroys the rest', async () => {
    const { lanes, stats } = counted('gzip');
    const outs = await Promise.all(Array.from({ length: 40 }, (_, i) => lanes.decode(deflateSync(block(i)), SIZE)));
    outs.forEach((out, i) => expect(Buffer.from(out).equals(block(i))).toBe(true));
    await settle();
    expect(lanes.created).toBe(40);
    expect(stats.closed).toBe(8);
    lanes.close();
    await settle();
    expect(stats.closed).toBe(40);
    // Still usable after close; the lane is destroyed once its block is done.
    expect(Buffer.from(await lanes.decode(deflateSync(block(1)), SIZE)).equals(block(1))).toBe(true);
    await settle();
    expect(stats.closed).toBe(41);
  });
});
