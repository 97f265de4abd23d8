/**
 * Decodes the compressor-options block that follows the superblock when flag 0x0400 is
 * set (squashfs-tools-ng doc/format.adoc "Compression Options"; squashfs-tools
 * `*_wrapper.h`). Decoding blocks never needs these options; they are reported by
 * `inspect` and checked for plausibility. Unknown bits are kept as numbers, not dropped.
 */
import { SquashfsError } from '../errors.ts';

export interface GzipOptions {
  compressor: 'gzip';
  level: number;
  windowSize: number;
  /** Names of the strategy bits set: default, filtered, huffman_only, run_length_encoded, fixed. */
  strategies: string[];
}
export interface XzOptions {
  compressor: 'xz';
  dictionarySize: number;
  /** Names of the BCJ filter bits set: x86, powerpc, ia64, arm, armthumb, sparc, arm64, riscv. */
  filters: string[];
  /** The raw filter bit field (bits above 0x80 are unknown and kept here). */
  filterBits: number;
}
export interface Lz4Options {
  compressor: 'lz4';
  version: number;
  /** Names of the flag bits set: hc (high compression), non_default (v2). */
  flags: string[];
  flagBits: number;
  /** v2 only: acceleration or HC level. */
  data?: number;
}
export interface ZstdOptions {
  compressor: 'zstd';
  level: number;
}
export interface LzoOptions {
  compressor: 'lzo';
  /** lzo1x_1, lzo1x_1_11, lzo1x_1_12, lzo1x_1_15, lzo1x_999, or `unknown(n)`. */
  algorithm: string;
  level: number;
}
export type CompressorOptions = GzipOptions | XzOptions | Lz4Options | ZstdOptions | LzoOptions;

const GZIP_STRATEGIES = ['default', 'filtered', 'huffman_only', 'run_length_encoded', 'fixed'];
const XZ_FILTERS = ['x86', 'powerpc', 'ia64', 'arm', 'armthumb', 'sparc', 'arm64', 'riscv'];
const LZ4_FLAGS = ['hc', 'non_default'];
const LZO_ALGORITHMS = ['lzo1x_1', 'lzo1x_1_11', 'lzo1x_1_12', 'lzo1x_1_15', 'lzo1x_999'];

function bitNames(bits: number, names: string[]): string[] {
  return names.filter((_, i) => (bits >>> i) & 1);
}

function tooShort(id: number, length: number, needed: number): SquashfsError {
  return new SquashfsError(
    'UAI_SQFS_CORRUPTED',
    'compressor options',
    96,
    `compressor ${id} needs ${needed} option bytes, the block has ${length}`,
  );
}

/**
 * The named fields of a compressor-options payload (the bytes after the block's u16
 * header). Throws `UAI_SQFS_CORRUPTED` when the payload is too short for its compressor,
 * `UAI_SQFS_UNSUPPORTED` for lzma (which has no options) and unknown ids.
 */
export function decodeCompressorOptions(id: number, bytes: Uint8Array): CompressorOptions {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n: number): void => {
    if (bytes.length < n) throw tooShort(id, bytes.length, n);
  };
  switch (id) {
    case 1: {
      need(8);
      const bits = view.getUint16(6, true);
      return { compressor: 'gzip', level: view.getUint32(0, true), windowSize: view.getUint16(4, true), strategies: bitNames(bits, GZIP_STRATEGIES) };
    }
    case 3: {
      need(8);
      const algo = view.getUint32(0, true);
      return { compressor: 'lzo', algorithm: LZO_ALGORITHMS[algo] ?? `unknown(${algo})`, level: view.getUint32(4, true) };
    }
    case 4: {
      need(8);
      const bits = view.getUint32(4, true);
      return { compressor: 'xz', dictionarySize: view.getUint32(0, true), filters: bitNames(bits, XZ_FILTERS), filterBits: bits };
    }
    case 5: {
      need(8);
      const bits = view.getUint32(4, true);
      const out: Lz4Options = { compressor: 'lz4', version: view.getUint32(0, true), flags: bitNames(bits, LZ4_FLAGS), flagBits: bits };
      if (bytes.length >= 12) out.data = view.getUint32(8, true);
      return out;
    }
    case 6:
      need(4);
      return { compressor: 'zstd', level: view.getUint32(0, true) };
    case 2:
      throw new SquashfsError('UAI_SQFS_UNSUPPORTED', 'compressor options', 96, 'lzma has no compressor options, yet the flag says they are present');
    default:
      throw new SquashfsError('UAI_SQFS_UNSUPPORTED', 'superblock', 20, `unknown compressor id ${id}`);
  }
}
