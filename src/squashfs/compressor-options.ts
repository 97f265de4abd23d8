/**
 * Decodes the compressor-options block into named fields, per codec (ng-doc
 * "Compression Options"; squashfs-tools `*_wrapper.h`). Decoding never needs these; they
 * are shown by `inspect` and handed to the codec factory as raw bytes.
 */
import type { CompressorName } from './compression/decompressor.ts';
import type { WarningHandler } from '../errors.ts';
import { viewOf } from './binary.ts';

export type CompressorOptions = Record<string, number | string | boolean>;

const GZIP_STRATEGIES: Array<[number, string]> = [
  [0x1, 'default'],
  [0x2, 'filtered'],
  [0x4, 'huffman'],
  [0x8, 'rle'],
  [0x10, 'fixed'],
];
const XZ_FILTERS = ['x86', 'powerpc', 'ia64', 'arm', 'armthumb', 'sparc', 'arm64', 'riscv'];
const LZO_ALGORITHMS = ['lzo1x_1', 'lzo1x_1_11', 'lzo1x_1_12', 'lzo1x_1_15', 'lzo1x_999'];

function bits(value: number, names: ReadonlyArray<string>): string {
  const out: string[] = [];
  names.forEach((name, i) => {
    if (value & (1 << i)) out.push(name);
  });
  const unknown = value & ~((1 << names.length) - 1);
  if (unknown) out.push(`0x${unknown.toString(16)}`);
  return out.join(',');
}

/** Named fields of a compressor-options payload; unknown layouts are reported raw. */
export function decodeCompressorOptions(
  compressor: CompressorName,
  bytes: Uint8Array,
  onWarning?: WarningHandler,
): CompressorOptions {
  const v = viewOf(bytes);
  const warnSize = (expected: string): CompressorOptions => {
    onWarning?.({
      code: 'UAI_SQFS_COMPRESSOR_OPTIONS',
      message: `${compressor} compressor options are ${bytes.length} bytes, expected ${expected}; ignored`,
      details: { compressor, length: bytes.length },
    });
    return { raw: Buffer.from(bytes).toString('hex') };
  };
  switch (compressor) {
    case 'gzip': {
      if (bytes.length !== 8) return warnSize('8');
      const strategies = v.getUint16(6, true);
      return {
        level: v.getUint32(0, true),
        windowSize: v.getUint16(4, true),
        strategies: GZIP_STRATEGIES.filter(([bit]) => strategies & bit).map(([, n]) => n).join(',') || 'default',
      };
    }
    case 'xz': {
      if (bytes.length !== 8) return warnSize('8');
      return { dictionarySize: v.getUint32(0, true), filters: bits(v.getUint32(4, true), XZ_FILTERS) || 'none' };
    }
    case 'lz4': {
      if (bytes.length < 8) return warnSize('at least 8');
      const flags = v.getUint32(4, true);
      const out: CompressorOptions = { version: v.getUint32(0, true), highCompression: (flags & 1) !== 0 };
      if (bytes.length >= 12) {
        out.nonDefault = (flags & 2) !== 0;
        out.data = v.getUint32(8, true);
      }
      return out;
    }
    case 'zstd': {
      if (bytes.length !== 4) return warnSize('4');
      return { level: v.getUint32(0, true) };
    }
    case 'lzo': {
      if (bytes.length !== 8) return warnSize('8');
      const algorithm = v.getUint32(0, true);
      return { algorithm: LZO_ALGORITHMS[algorithm] ?? `unknown(${algorithm})`, level: v.getUint32(4, true) };
    }
    case 'lzma':
      return warnSize('none (lzma has no options)');
  }
}
