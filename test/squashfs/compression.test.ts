/**
 * The six codecs against real mksquashfs 4.5.1 blocks: every compressor and the options
 * that change the block encoding (gzip levels/window/strategies, lzma, lzo algorithms,
 * xz with each -Xbcj filter, lz4 and -Xhc, zstd levels, 4 KiB..1 MiB blocks). Blocks are
 * pulled out of the images by a small independent parser (test/support/fixtures.ts);
 * data blocks must decode to the exact bytes of the source file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecompressor, decodeCompressorOptions, stopDecoderWorkers, type Decompressor } from '../../src/squashfs/compression/index.ts';
import { xzShape } from '../../src/squashfs/compression/xz-bound.ts';
import { createLz4Decompressor } from '../../src/squashfs/compression/lz4.ts';
import { DECODER_WORKERS, decoderWorkersRunning } from '../../src/squashfs/compression/worker-pool.ts';
import { SquashfsError } from '../../src/squashfs/errors.ts';
import { compressorOptionsBytes, fragmentBlocks, metadataBlocks, mksquashfs, parseSuperblock, singleFileBlocks, type RawBlock } from '../support/fixtures.ts';

interface Config {
  label: string;
  args: string[];
  /** What decodeCompressorOptions must report (a subset), or null for "no options block". */
  options: Record<string, unknown> | null;
}

const CONFIGS: Config[] = [
  { label: 'gzip', args: ['-comp', 'gzip'], options: null },
  { label: 'gzip-l1-4k', args: ['-comp', 'gzip', '-Xcompression-level', '1', '-b', '4096'], options: { compressor: 'gzip', level: 1, windowSize: 15 } },
  { label: 'gzip-w8-strategies', args: ['-comp', 'gzip', '-Xwindow-size', '8', '-Xstrategy', 'default,filtered,huffman_only,run_length_encoded,fixed'], options: { compressor: 'gzip', windowSize: 8, strategies: ['default', 'filtered', 'huffman_only', 'run_length_encoded', 'fixed'] } },
  { label: 'lzma', args: ['-comp', 'lzma'], options: null },
  { label: 'lzma-1m', args: ['-comp', 'lzma', '-b', '1M'], options: null },
  { label: 'lzo', args: ['-comp', 'lzo'], options: null },
  { label: 'lzo1x_1-4k', args: ['-comp', 'lzo', '-Xalgorithm', 'lzo1x_1', '-b', '4096'], options: { compressor: 'lzo', algorithm: 'lzo1x_1' } },
  { label: 'lzo1x_1_15', args: ['-comp', 'lzo', '-Xalgorithm', 'lzo1x_1_15'], options: { compressor: 'lzo', algorithm: 'lzo1x_1_15' } },
  { label: 'lzo1x_999-l9', args: ['-comp', 'lzo', '-Xalgorithm', 'lzo1x_999', '-Xcompression-level', '9'], options: { compressor: 'lzo', algorithm: 'lzo1x_999', level: 9 } },
  { label: 'xz', args: ['-comp', 'xz'], options: null },
  ...['x86', 'arm', 'armthumb', 'powerpc', 'sparc', 'ia64'].map((f) => ({ label: `xz-bcj-${f}`, args: ['-comp', 'xz', '-Xbcj', f], options: { compressor: 'xz', filters: [f] } })),
  { label: 'xz-bcj-all-1m', args: ['-comp', 'xz', '-b', '1M', '-Xbcj', 'x86,arm,armthumb,powerpc,sparc,ia64'], options: { compressor: 'xz', filters: ['x86', 'powerpc', 'ia64', 'arm', 'armthumb', 'sparc'] } },
  { label: 'lz4', args: ['-comp', 'lz4'], options: { compressor: 'lz4', version: 1, flags: [] } },
  { label: 'lz4-hc', args: ['-comp', 'lz4', '-Xhc'], options: { compressor: 'lz4', version: 1, flags: ['hc'] } },
  { label: 'zstd', args: ['-comp', 'zstd'], options: null },
  { label: 'zstd-l1-1m', args: ['-comp', 'zstd', '-Xcompression-level', '1', '-b', '1M'], options: { compressor: 'zstd', level: 1 } },
  { label: 'zstd-l22', args: ['-comp', 'zstd', '-Xcompression-level', '22'], options: { compressor: 'zstd', level: 22 } },
];

/** A deterministic xorshift PRNG: the damage tests print their seed on failure. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

let work: string;
let content: Buffer;
const images = new Map<string, { big: Uint8Array; small: Uint8Array }>();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'uai-codec-'));
  // One file mixing what a rootfs holds: text, x86-64 machine code (for BCJ), random
  // bytes (stored uncompressed), a zero run (sparse), then more code.
  const rand = prng(42);
  const random = Buffer.alloc(70_000);
  for (let i = 0; i < random.length; i++) random[i] = Math.floor(rand() * 256);
  const text = Array.from({ length: 4000 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog ${i * i}\n`).join('');
  const elf = readFileSync('/usr/bin/mksquashfs');
  content = Buffer.concat([Buffer.from(text), elf, random, Buffer.alloc(300_000), elf.subarray(0, 100_000), Buffer.from('tail')]);
  mkdirSync(join(work, 'big'));
  writeFileSync(join(work, 'big', 'data'), content);
  // Many small files and directories: several metadata blocks and fragment blocks.
  for (let d = 0; d < 20; d++) {
    mkdirSync(join(work, 'small', `dir-${d}`), { recursive: true });
    for (let f = 0; f < 30; f++) writeFileSync(join(work, 'small', `dir-${d}`, `file-${f}.txt`), `${d}/${f} `.repeat(1 + ((d * 31 + f * 7) % 200)));
  }
  for (const c of CONFIGS) {
    mksquashfs(join(work, 'big'), join(work, `${c.label}-big.sqfs`), [...c.args, '-no-fragments']);
    mksquashfs(join(work, 'small'), join(work, `${c.label}-small.sqfs`), c.args);
    images.set(c.label, { big: readFileSync(join(work, `${c.label}-big.sqfs`)), small: readFileSync(join(work, `${c.label}-small.sqfs`)) });
  }
});

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await stopDecoderWorkers();
});

function metaDecoder(dec: Decompressor) {
  return (b: RawBlock) => dec.decompressSync(b.data, 8192);
}

function allBlocks(label: string, dec: Decompressor): Array<RawBlock & { expected?: Uint8Array }> {
  const { big, small } = images.get(label)!;
  return [
    ...metadataBlocks(big),
    ...singleFileBlocks(big, metaDecoder(dec), content),
    ...metadataBlocks(small),
    ...fragmentBlocks(small, metaDecoder(dec)),
  ].filter((b) => !b.stored);
}

function checkBlock(block: RawBlock & { expected?: Uint8Array }, out: Uint8Array): void {
  expect(out.length).toBeLessThanOrEqual(block.maxLength);
  if (block.exactLength !== undefined) expect(out.length).toBe(block.exactLength);
  if (block.expected) expect(Buffer.from(out).equals(block.expected)).toBe(true);
}

describe.each(CONFIGS)('$label: real mksquashfs blocks', (config) => {
  it('decode sync and async to the exact bytes and lengths', async () => {
    const sb = parseSuperblock(images.get(config.label)!.big);
    const dec = createDecompressor(sb.compression, compressorOptionsBytes(images.get(config.label)!.big));
    const blocks = allBlocks(config.label, dec);
    const kinds = new Set(blocks.map((b) => b.kind));
    expect(kinds).toEqual(new Set(['metadata', 'data', 'fragment']));
    for (const b of blocks) checkBlock(b, dec.decompressSync(b.data, b.maxLength));
    // All async at once: the native codecs run in the libuv pool, lzo/lz4 in workers.
    const outs = await Promise.all(blocks.map((b) => dec.decompress(b.data, b.maxLength)));
    blocks.forEach((b, i) => checkBlock(b, outs[i]!));
  });

  it('reports the compressor options mksquashfs wrote', () => {
    const image = images.get(config.label)!.big;
    const bytes = compressorOptionsBytes(image);
    if (config.options === null) {
      expect(bytes).toBeUndefined();
      return;
    }
    expect(bytes).toBeDefined();
    expect(decodeCompressorOptions(parseSuperblock(image).compression, bytes!)).toMatchObject(config.options);
  });
});

describe('lz4 fallback decoder', () => {
  it.each(['lz4', 'lz4-hc'])('%s: our TypeScript decoder (inline and in the worker pool) gives the same bytes as lz4-napi', async (label) => {
    const native = createDecompressor(5);
    const fallback = createLz4Decompressor({ native: false });
    const blocks = allBlocks(label, native);
    expect(blocks.length).toBeGreaterThan(5);
    for (const b of blocks) checkBlock(b, fallback.decompressSync(b.data, b.maxLength));
    const outs = await Promise.all(blocks.map((b) => fallback.decompress(b.data, b.maxLength)));
    blocks.forEach((b, i) => {
      checkBlock(b, outs[i]!);
      expect(Buffer.from(outs[i]!).equals(native.decompressSync(b.data, b.maxLength))).toBe(true);
    });
  });
});

describe('parallel decoding', () => {
  it('lzo data blocks in flight together are spread over every worker of the pool', async () => {
    await stopDecoderWorkers();
    expect(decoderWorkersRunning()).toBe(0);
    const dec = createDecompressor(3);
    const blocks = allBlocks('lzo', dec).filter((b) => b.kind === 'data');
    expect(blocks.length).toBeGreaterThanOrEqual(DECODER_WORKERS);
    const outs = await Promise.all(blocks.map((b) => dec.decompress(b.data, b.maxLength)));
    blocks.forEach((b, i) => checkBlock(b, outs[i]!));
    expect(decoderWorkersRunning()).toBe(DECODER_WORKERS);
  });
});

describe('xz BCJ filters', () => {
  it('mksquashfs really chose the x86 filter for machine code, and we decoded it', () => {
    const image = images.get('xz-bcj-x86')!.big;
    const dec = createDecompressor(4);
    const blocks = singleFileBlocks(image, metaDecoder(dec), content).filter((b) => !b.stored);
    const chains = blocks.map((b) => xzShape(b.data, b.maxLength).filters);
    expect(chains.some((c) => c[0] === 0x04 && c[1] === 0x21)).toBe(true);
    for (const b of blocks) checkBlock(b, dec.decompressSync(b.data, b.maxLength));
  });
});

describe('damaged blocks', () => {
  const SEED = Number(process.env.SEED ?? 20261125);
  const checksummed = new Set(['gzip', 'xz']);

  it.each(['gzip', 'lzma', 'lzo', 'xz-bcj-x86', 'lz4-hc', 'zstd'])('%s: bit flips, overwrites and truncations throw UAI_SQFS_DECOMPRESS or stay within bounds', async (label) => {
    const sb = parseSuperblock(images.get(label)!.big);
    const dec = createDecompressor(sb.compression);
    const blocks = allBlocks(label, dec).filter((b) => b.kind !== 'metadata' || b.data.length > 64);
    const rand = prng(SEED + label.length);
    let threw = 0;
    let undetected = 0;
    for (let n = 0; n < 400; n++) {
      const b = blocks[Math.floor(rand() * blocks.length)]!;
      const damaged = new Uint8Array(b.data);
      const mode = n % 4;
      let input: Uint8Array = damaged;
      if (mode === 0) damaged[Math.floor(rand() * damaged.length)]! ^= 1 << Math.floor(rand() * 8);
      else if (mode === 1) for (let k = 0; k < 4; k++) damaged[Math.floor(rand() * damaged.length)] = Math.floor(rand() * 256);
      else if (mode === 2) input = damaged.subarray(0, Math.floor(rand() * damaged.length));
      else input = Buffer.concat([damaged, Buffer.from([1, 2, 3, 4])]);
      const context = `seed ${SEED} case ${n} mode ${mode} block at ${b.offset}`;
      for (const run of [() => dec.decompressSync(input, b.maxLength), () => dec.decompress(input, b.maxLength)]) {
        try {
          const out = await run();
          expect(out.length, context).toBeLessThanOrEqual(b.maxLength);
          const exact = b.exactLength === undefined || out.length === b.exactLength;
          const same = !b.expected || Buffer.from(out).equals(b.expected);
          if (exact && !same) {
            undetected++;
            // With a checksum over the output, damage cannot go unnoticed.
            expect(checksummed.has(dec.name), `${context}: ${dec.name} returned wrong bytes of the right length`).toBe(false);
          }
          if (mode === 2 && b.expected && out.length === b.exactLength) expect(same, `${context}: truncated input gave full output`).toBe(true);
        } catch (err) {
          expect(err, context).toBeInstanceOf(SquashfsError);
          expect((err as SquashfsError).code, context).toBe('UAI_SQFS_DECOMPRESS');
          threw++;
        }
      }
    }
    expect(threw).toBeGreaterThan(200);
    expect(undetected).toBeLessThan(800);
  });
});

describe('random input', () => {
  it('every codec turns random bytes (with and without a valid magic) into UAI_SQFS_DECOMPRESS or bounded output', async () => {
    const rand = prng(Number(process.env.SEED ?? 99));
    const magics: Record<number, number[]> = { 1: [0x78, 0xda], 2: [0x5d, 0, 0, 2, 0], 4: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0, 1, 0x69, 0x22, 0xde, 0x36], 6: [0x28, 0xb5, 0x2f, 0xfd] };
    for (const id of [1, 2, 3, 4, 5, 6]) {
      const dec = createDecompressor(id);
      for (let n = 0; n < 300; n++) {
        const input = new Uint8Array(Math.floor(rand() * 300));
        for (let i = 0; i < input.length; i++) input[i] = Math.floor(rand() * 256);
        if (n % 2 === 0) input.set((magics[id] ?? []).slice(0, input.length));
        for (const run of [() => dec.decompressSync(input, 8192), () => dec.decompress(input, 8192)]) {
          try {
            expect((await run()).length).toBeLessThanOrEqual(8192);
          } catch (err) {
            expect(err, `${dec.name} case ${n}`).toBeInstanceOf(SquashfsError);
            expect((err as SquashfsError).code).toBe('UAI_SQFS_DECOMPRESS');
          }
        }
      }
    }
  });
});

describe('bombs and limits', () => {
  const big = Buffer.alloc(32 << 20, 0x41);

  it('gzip and zstd stop at maxOutput', async () => {
    const zlib = await import('node:zlib');
    for (const [id, packed] of [
      [1, zlib.deflateSync(big)],
      [6, zlib.zstdCompressSync(big)],
    ] as const) {
      const dec = createDecompressor(id);
      expect(() => dec.decompressSync(packed, 1 << 20)).toThrow(expect.objectContaining({ code: 'UAI_SQFS_DECOMPRESS' }));
      await expect(dec.decompress(packed, 1 << 20)).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
    }
  });

  it('xz: a stream whose chunks declare more than maxOutput is refused before decoding, even if its headers lie', async () => {
    // Python's liblzma writes the raw LZMA2 data; the container around it claims 1000 bytes.
    const script = `
import lzma, zlib, struct, sys
def vli(n):
    out=b''
    while n>=0x80: out+=bytes([(n&0x7f)|0x80]); n>>=7
    return out+bytes([n])
crc=lambda b: struct.pack('<I', zlib.crc32(b)&0xffffffff)
raw=lzma.compress(b'A'*(32<<20), format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 1}])
body=bytes([0x80])+vli(1000)+vli(0x21)+vli(1)+bytes([16])
hl=(1+len(body)+4+3)//4*4
hdr=bytes([hl//4-1])+body; hdr+=b'\\0'*(hl-4-len(hdr)); hdr+=crc(hdr)
blk=hdr+raw; unp=len(blk)+4; blk+=b'\\0'*((-len(blk))%4)+crc(b'x')
idx=b'\\0'+vli(1)+vli(unp)+vli(1000); idx+=b'\\0'*((-len(idx))%4); idx+=crc(idx)
bs=struct.pack('<I', len(idx)//4-1)+b'\\0\\x01'
sys.stdout.buffer.write(b'\\xfd7zXZ\\0\\0\\x01'+crc(b'\\0\\x01')+blk+idx+crc(bs)+bs+b'YZ')
`;
    const bomb = execFileSync('python3', ['-c', script], { maxBuffer: 64 << 20 });
    const dec = createDecompressor(4);
    const before = process.memoryUsage().rss;
    expect(() => dec.decompressSync(bomb, 1 << 20)).toThrow(expect.objectContaining({ code: 'UAI_SQFS_DECOMPRESS' }));
    await expect(dec.decompress(bomb, 1 << 20)).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
    expect(process.memoryUsage().rss - before).toBeLessThan(16 << 20);
  });

  it('xz: a second, concatenated stream is refused (it would escape the chunk walk)', async () => {
    const { xz } = await import('@napi-rs/lzma');
    const first = Buffer.from(xz.compressSync(Buffer.from('small and honest')));
    const second = Buffer.from(xz.compressSync(big));
    const dec = createDecompressor(4);
    expect(Buffer.from(dec.decompressSync(first, 8192)).toString()).toBe('small and honest');
    expect(() => dec.decompressSync(Buffer.concat([first, second]), 8192)).toThrow(expect.objectContaining({ code: 'UAI_SQFS_DECOMPRESS' }));
    expect(() => dec.decompressSync(Buffer.concat([first, Buffer.alloc(4)]), 8192)).toThrow(expect.objectContaining({ code: 'UAI_SQFS_DECOMPRESS' }));
  });

  it('lzma: the header size bounds the output; a lying or missing size is refused', async () => {
    const { lzma } = await import('@napi-rs/lzma');
    const packed = Buffer.from(lzma.compressSync(big));
    const dec = createDecompressor(2);
    // As written by the encoder: size "unknown".
    expect(() => dec.decompressSync(packed, 1 << 20)).toThrow(expect.objectContaining({ code: 'UAI_SQFS_DECOMPRESS' }));
    // A header that says 1000 bytes over a 32 MiB stream.
    const lying = Buffer.from(packed);
    lying.writeBigUInt64LE(1000n, 5);
    expect(() => dec.decompressSync(lying, 1 << 20)).toThrow(expect.objectContaining({ code: 'UAI_SQFS_DECOMPRESS' }));
    await expect(dec.decompress(lying, 1 << 20)).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
    // The true size, over the limit.
    const honest = Buffer.from(packed);
    honest.writeBigUInt64LE(BigInt(big.length), 5);
    expect(() => dec.decompressSync(honest, 1 << 20)).toThrow(expect.objectContaining({ code: 'UAI_SQFS_DECOMPRESS' }));
  });

  it('lz4 and lzo: matches past maxOutput throw', async () => {
    const lz4napi = await import('lz4-napi');
    const raw = lz4napi.compressSync(big).subarray(4); // strip lz4_flex's size prefix: a raw block
    const lz4 = createDecompressor(5);
    expect(() => lz4.decompressSync(raw, 1 << 20)).toThrow(expect.objectContaining({ code: 'UAI_SQFS_DECOMPRESS' }));
    await expect(lz4.decompress(raw, 1 << 20)).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
    // LZO1X by hand: one literal 'A', then a 001LLLLL match at distance 1 whose length
    // extension (200 zero bytes) makes 51,034 bytes, then the end marker.
    const lzoBomb = Uint8Array.from([18, 0x41, 32, ...new Array(200).fill(0), 1, 0, 0, 0x11, 0, 0]);
    const lzo = createDecompressor(3);
    expect(lzo.decompressSync(lzoBomb, 60_000).length).toBe(51_035);
    expect(() => lzo.decompressSync(lzoBomb, 8192)).toThrow(expect.objectContaining({ code: 'UAI_SQFS_DECOMPRESS' }));
    await expect(lzo.decompress(lzoBomb, 32_768)).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
  });

  it('an output of exactly maxOutput is accepted, one byte over is refused (every codec)', async () => {
    const zlib = await import('node:zlib');
    const { xz, lzma } = await import('@napi-rs/lzma');
    const lz4napi = await import('lz4-napi');
    const data = Buffer.from('0123456789abcdefghijklmnopqr'); // 28 bytes, like a 7-entry id table
    const alone = Buffer.from(lzma.compressSync(data));
    alone.writeBigUInt64LE(28n, 5); // as mksquashfs writes it: the real size
    // LZO1X by hand: a 28-byte literal run (first byte 17 + 28), then the end marker.
    const lzo = Buffer.concat([Buffer.from([17 + 28]), data, Buffer.from([0x11, 0, 0])]);
    const cases: Array<[number, Uint8Array]> = [
      [1, zlib.deflateSync(data)],
      [2, alone],
      [3, lzo],
      [4, xz.compressSync(data)],
      [5, lz4napi.compressSync(data).subarray(4)],
      [6, zlib.zstdCompressSync(data)],
    ];
    for (const [id, packed] of cases) {
      const dec = createDecompressor(id);
      expect(Buffer.from(dec.decompressSync(packed, 28)).equals(data), dec.name).toBe(true);
      expect(Buffer.from(await dec.decompress(packed, 28)).equals(data), dec.name).toBe(true);
      expect(() => dec.decompressSync(packed, 27), dec.name).toThrow(expect.objectContaining({ code: 'UAI_SQFS_DECOMPRESS' }));
      await expect(dec.decompress(packed, 27), dec.name).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
    }
  });

  it('unknown compressor ids are UAI_SQFS_UNSUPPORTED at the superblock field', () => {
    for (const id of [0, 7, 0xffff]) {
      expect(() => createDecompressor(id)).toThrow(expect.objectContaining({ code: 'UAI_SQFS_UNSUPPORTED', table: 'superblock', offset: 20 }));
    }
  });

  it('decodes option payloads of every kind, including lz4 v2 and xz arm64/riscv bits', () => {
    const le = (...words: number[]) => new Uint8Array(Uint32Array.from(words).buffer);
    expect(decodeCompressorOptions(4, le(1 << 20, 0x40 | 0x80 | 0x1))).toMatchObject({ dictionarySize: 1 << 20, filters: ['x86', 'arm64', 'riscv'] });
    expect(decodeCompressorOptions(5, le(2, 0x3, 12))).toMatchObject({ version: 2, flags: ['hc', 'non_default'], data: 12 });
    expect(() => decodeCompressorOptions(5, le(1))).toThrow(expect.objectContaining({ code: 'UAI_SQFS_CORRUPTED' }));
    expect(() => decodeCompressorOptions(2, new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'UAI_SQFS_UNSUPPORTED' }));
  });
});
