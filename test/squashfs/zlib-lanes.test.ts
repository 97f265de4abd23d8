/**
 * The long-lived node:zlib decoder streams behind gzip's and zstd's async path: a lane is
 * reused for the next block only when that is safe (a whole chunk of output, nothing after
 * the end of the stream, no error), a bomb stops at the limit, and a damaged block costs
 * only its own lane.
 */
import { randomBytes } from 'node:crypto';
import { constants, deflateSync, Inflate, zstdCompressSync, createZstdDecompress } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createDecompressor } from '../../src/squashfs/compression/index.ts';
import { laneOptions, ZlibLanes, type ZlibDecoderFactory } from '../../src/squashfs/compression/zlib-lanes.ts';

const SIZE = 64 * 1024;

/** `n` bytes that compress, different for every `seed`. */
function block(seed: number, n = SIZE): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 31 + i * 7 + (i >> 6)) & 0xff;
  return out;
}

/** gzip's lane factory, counting every byte the streams hand out. */
function inflateLanes(): { lanes: ZlibLanes; emitted: () => number } {
  let emitted = 0;
  const factory: ZlibDecoderFactory = (chunkSize) => {
    const stream = new Inflate(laneOptions(chunkSize, { flush: constants.Z_FINISH }));
    stream.on('data', (chunk: Buffer) => (emitted += chunk.length));
    return stream;
  };
  return { lanes: new ZlibLanes('gzip', factory, 'damaged zlib stream'), emitted: () => emitted };
}

describe('zlib lanes', () => {
  it('full blocks, one after another, all go through one lane', async () => {
    const { lanes } = inflateLanes();
    for (let i = 0; i < 20; i++) {
      const out = await lanes.decode(deflateSync(block(i)), SIZE);
      expect(Buffer.from(out).equals(block(i))).toBe(true);
    }
    expect(lanes.created).toBe(1);
  });

  it('blocks in flight together get a lane each, and the next round reuses them', async () => {
    const { lanes } = inflateLanes();
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

  it('a block shorter than a chunk retires its lane, so the next block comes in one piece of its own', async () => {
    const { lanes } = inflateLanes();
    const short = await lanes.decode(deflateSync(block(1, 1000)), SIZE);
    expect(Buffer.from(short).equals(block(1, 1000))).toBe(true);
    const full = await lanes.decode(deflateSync(block(2)), SIZE);
    expect(Buffer.from(full).equals(block(2))).toBe(true);
    expect(lanes.created).toBe(2);
    // The full block did not start in the short block's chunk.
    expect(full.buffer).not.toBe(short.buffer);
    expect(full.byteOffset).toBe(0);
  });

  it('bytes after the end of the stream: the output stands, the lane is not reused', async () => {
    const { lanes } = inflateLanes();
    const out = await lanes.decode(Buffer.concat([deflateSync(block(3)), Buffer.from('trailing')]), SIZE);
    expect(Buffer.from(out).equals(block(3))).toBe(true);
    const next = await lanes.decode(deflateSync(block(4)), SIZE);
    expect(Buffer.from(next).equals(block(4))).toBe(true);
    expect(lanes.created).toBe(2);
  });

  it('a damaged block fails alone: UAI_SQFS_DECOMPRESS, then the next block decodes on a new lane', async () => {
    const { lanes } = inflateLanes();
    await lanes.decode(deflateSync(block(5)), SIZE);
    const damaged = Buffer.from(deflateSync(block(6)));
    damaged.fill(0x55, 10, 40);
    await expect(lanes.decode(damaged, SIZE)).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
    const next = await lanes.decode(deflateSync(block(7)), SIZE);
    expect(Buffer.from(next).equals(block(7))).toBe(true);
    expect(lanes.created).toBe(2);
  });

  it('a block that ends early is an error, not short output (every write is final)', async () => {
    const packed = deflateSync(block(8));
    const { lanes } = inflateLanes();
    await expect(lanes.decode(packed.subarray(0, packed.length - 20), SIZE)).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
    await expect(createDecompressor(1).decompress(packed.subarray(0, packed.length - 20), SIZE)).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
  });

  it('a bomb stops at the limit: the stream hands out at most a chunk past it', async () => {
    const { lanes, emitted } = inflateLanes();
    const bomb = deflateSync(Buffer.alloc(64 << 20));
    await expect(lanes.decode(bomb, SIZE)).rejects.toThrow(/limit of 65536/);
    expect(emitted()).toBeLessThanOrEqual(2 * SIZE);
    const next = await lanes.decode(deflateSync(block(9)), SIZE);
    expect(Buffer.from(next).equals(block(9))).toBe(true);
  });

  it('zstd: frames of random and compressible data, in flight together and one by one, through the codec', async () => {
    const dec = createDecompressor(6);
    const inputs = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? randomBytes(SIZE) : block(i)));
    const outs = await Promise.all(inputs.map((b) => dec.decompress(zstdCompressSync(b), SIZE)));
    outs.forEach((out, i) => expect(Buffer.from(out).equals(inputs[i]!)).toBe(true));
    for (const b of inputs) expect(Buffer.from(await dec.decompress(zstdCompressSync(b), SIZE)).equals(b)).toBe(true);
  });

  it('zstd lanes: a truncated frame gives short output (the caller checks lengths), and the reset clears it for the next block', async () => {
    const factory = (chunkSize: number) => createZstdDecompress(laneOptions(chunkSize) as object) as unknown as ReturnType<ZlibDecoderFactory>;
    const lanes = new ZlibLanes('zstd', factory, 'damaged zstd frame');
    const packed = zstdCompressSync(block(10));
    const out = await lanes.decode(packed.subarray(0, packed.length - 10), SIZE);
    expect(out.length).toBeLessThan(SIZE);
    for (let i = 11; i < 14; i++) {
      const next = await lanes.decode(zstdCompressSync(block(i)), SIZE);
      expect(Buffer.from(next).equals(block(i))).toBe(true);
    }
  });
});
