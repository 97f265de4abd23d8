import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { DEFAULT_GZIP_LEVEL, compressLayer, defaultGzipConcurrency, parallelGzip } from '../../src/layer/compression/index.ts';
import type { Layer } from '../../src/layer/layer.ts';
import { LayerError } from '../../src/layer/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'uai-gz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Some text-like, partly repetitive bytes (so dictionaries matter) and some noise. */
function sample(size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = 7;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = i % 4096 < 3000 ? 97 + ((i * 7) % 23) : x & 0xff;
  }
  return out;
}

async function* chunks(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

function sha256(b: Uint8Array): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** A Layer over fixed bytes that learns its digest like the real one (after a full stream). */
function memoryLayer(data: Uint8Array): Layer & { opens: number } {
  let done = false;
  const layer = {
    opens: 0,
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
    async *open() {
      layer.opens++;
      yield* chunks(data, 50_000);
      done = true;
    },
    digest: () => (done ? sha256(data) : (() => { throw Object.assign(new Error('not yet'), { code: 'UAI_LAYER_NOT_COMPUTED' }); })()),
    diffId: () => layer.digest(),
    size: () => data.length,
  };
  return layer;
}

describe('parallel gzip', () => {
  it('makes ONE valid gzip member from many parallel blocks (gzip -t, zcat, member count)', async () => {
    const data = sample(3 * 1024 * 1024 + 12345);
    const gz = await collect(parallelGzip(chunks(data, 70_001), { blockSize: 256 * 1024, level: 6 }));
    const file = join(dir, 'a.gz');
    writeFileSync(file, gz);
    execFileSync('gzip', ['-t', file]);
    expect(execFileSync('zcat', [file], { maxBuffer: 64 << 20 }).equals(data)).toBe(true);
    // One member: header, ONE raw deflate stream holding everything, CRC-32 + ISIZE trailer.
    expect([...gz.subarray(0, 4)]).toEqual([0x1f, 0x8b, 8, 0]);
    expect(inflateRawSync(gz.subarray(10, gz.length - 8)).equals(data)).toBe(true);
    expect(gz.readUInt32LE(gz.length - 8)).toBe(crc32(data));
    expect(gz.readUInt32LE(gz.length - 4)).toBe(data.length);
  });

  it('compresses about as well as gzip itself (dictionary carried between blocks)', async () => {
    const data = sample(2 * 1024 * 1024);
    const file = join(dir, 'b.bin');
    writeFileSync(file, data);
    for (const level of [1, 6, 9]) {
      const ours = await collect(parallelGzip(chunks(data, 65536), { blockSize: 128 * 1024, level }));
      const theirs = execFileSync('gzip', [`-${level}`, '-c', file], { maxBuffer: 64 << 20 });
      expect(ours.length).toBeLessThan(theirs.length * 1.05);
    }
  });

  it('defaults to level 1, as crane does: the fastest level, marked in the header', async () => {
    expect(DEFAULT_GZIP_LEVEL).toBe(1);
    const data = sample(600_000);
    const byDefault = await collect(parallelGzip(chunks(data, 65536), { blockSize: 128 * 1024 }));
    const level1 = await collect(parallelGzip(chunks(data, 65536), { blockSize: 128 * 1024, level: 1 }));
    const level6 = await collect(parallelGzip(chunks(data, 65536), { blockSize: 128 * 1024, level: 6 }));
    expect(byDefault.equals(level1)).toBe(true);
    expect(byDefault.equals(level6)).toBe(false);
    expect(byDefault[8]).toBe(4); // XFL: fastest
    expect(level6[8]).toBe(0);
    expect(inflateRawSync(byDefault.subarray(10, byDefault.length - 8)).equals(data)).toBe(true);
  });

  it('keeps two blocks per usable pool thread in flight by default (the pool is UV_THREADPOOL_SIZE, 4 unless set)', () => {
    const saved = process.env.UV_THREADPOOL_SIZE;
    try {
      delete process.env.UV_THREADPOOL_SIZE;
      expect(defaultGzipConcurrency()).toBe(2 * Math.min(availableParallelism(), 4));
      process.env.UV_THREADPOOL_SIZE = '1';
      expect(defaultGzipConcurrency()).toBe(2);
      process.env.UV_THREADPOOL_SIZE = '64';
      expect(defaultGzipConcurrency()).toBe(2 * availableParallelism());
    } finally {
      if (saved === undefined) delete process.env.UV_THREADPOOL_SIZE;
      else process.env.UV_THREADPOOL_SIZE = saved;
    }
  });

  it('handles empty input and is deterministic', async () => {
    const empty = await collect(parallelGzip(chunks(new Uint8Array(0), 1)));
    const file = join(dir, 'empty.gz');
    writeFileSync(file, empty);
    execFileSync('gzip', ['-t', file]);
    expect(execFileSync('zcat', [file]).length).toBe(0);
    const data = sample(700_000);
    const a = await collect(parallelGzip(chunks(data, 9999), { blockSize: 64 * 1024 }));
    const b = await collect(parallelGzip(chunks(data, 123_456), { blockSize: 64 * 1024 }));
    expect(a.equals(b)).toBe(true);
  });
});

describe('compressed layers', () => {
  it('gzip: diffId of the inner tar, digest and size of the compressed bytes, same bytes on a retry', async () => {
    const data = sample(1_500_000);
    const inner = memoryLayer(data);
    const layer = compressLayer(inner, { compression: 'gzip', level: 1 });
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(() => layer.digest()).toThrow(expect.objectContaining({ code: 'UAI_LAYER_NOT_COMPUTED' }));
    const first = await collect(layer.open());
    expect(layer.digest()).toBe(sha256(first));
    expect(layer.size()).toBe(first.length);
    expect(layer.diffId()).toBe(sha256(data));
    const file = join(dir, 'layer.gz');
    writeFileSync(file, first);
    expect(createHash('sha256').update(execFileSync('zcat', [file], { maxBuffer: 64 << 20 })).digest('hex')).toBe(layer.diffId().slice(7));
    const again = await collect(layer.open());
    expect(again.equals(first)).toBe(true);
    expect(inner.opens).toBe(2);
  });

  it('zstd: a frame the zstd tool decompresses to the inner tar', async () => {
    const data = sample(900_000);
    const layer = compressLayer(memoryLayer(data), { compression: 'zstd', level: 5 });
    const out = await collect(layer.open());
    const file = join(dir, 'layer.zst');
    writeFileSync(file, out);
    expect(execFileSync('zstd', ['-dc', file], { maxBuffer: 64 << 20 }).equals(data)).toBe(true);
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(layer.digest()).toBe(sha256(out));
  });

  it('none returns the layer itself; bad levels are refused with the allowed range', () => {
    const inner = memoryLayer(sample(10));
    expect(compressLayer(inner, { compression: 'none' })).toBe(inner);
    expect(() => compressLayer(inner, { compression: 'gzip', level: 12 })).toThrow(/0-9/);
    expect(() => compressLayer(inner, { compression: 'zstd', level: 0 })).toThrow(expect.objectContaining({ code: 'UAI_LAYER_BAD_OPTION' }));
    expect(() => compressLayer(inner, { compression: 'bzip2' as 'gzip' })).toThrow(LayerError);
  });

  it('a second stream with other bytes fails with the layer stage\'s UAI_LAYER_NOT_DETERMINISTIC', async () => {
    const inner = memoryLayer(sample(100_000));
    const layer = compressLayer(inner, { compression: 'gzip' });
    await collect(layer.open());
    const first = layer.digest();
    // The inner layer gives other bytes on its next open (a source that changed under us).
    inner.open = memoryLayer(sample(100_001)).open;
    const err = await collect(layer.open()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerError);
    expect(err).toMatchObject({ code: 'UAI_LAYER_NOT_DETERMINISTIC', details: { first } });
    expect(layer.digest()).toBe(first);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const gen = parallelGzip(chunks(sample(2_000_000), 10_000), { signal: controller.signal, blockSize: 32 * 1024 });
    await gen.next();
    controller.abort(new Error('stop'));
    await expect(collect(gen)).rejects.toThrow('stop');
  });
});
