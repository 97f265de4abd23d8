/**
 * Picks the Decompressor for an image from the codec factory in `compression/`.
 */
import type { CompressorName, Decompressor } from './compression/decompressor.ts';
import { createDecompressor } from './compression/index.ts';
import { SquashfsError } from './errors.ts';

export function loadDecompressor(id: number, name: CompressorName, optionsBytes: Uint8Array | undefined): Decompressor {
  try {
    return createDecompressor(id, optionsBytes);
  } catch (cause) {
    if (cause instanceof SquashfsError) throw cause;
    throw new SquashfsError('UAI_SQFS_UNSUPPORTED', 'superblock', 20, `no decompressor for ${name}: ${(cause as Error).message}`, { cause });
  }
}
