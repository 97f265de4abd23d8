/**
 * Picks the Decompressor for an image: the codec factory of `compression/index.ts`
 * when it exists, else the built-in zlib fallback (gzip images only).
 */
import type { CompressorName, Decompressor } from './compression/decompressor.ts';
import { SquashfsError } from './errors.ts';
import { gzipFallback } from './gzip-fallback.ts';

type Factory = (id: number, optionsBytes: Uint8Array | undefined) => Decompressor | Promise<Decompressor>;

async function loadFactory(): Promise<Factory | undefined> {
  // A computed specifier: the module may not exist yet in this checkout.
  const specifier = './compression/index.ts';
  try {
    const mod = (await import(specifier)) as { createDecompressor?: Factory };
    return typeof mod.createDecompressor === 'function' ? mod.createDecompressor : undefined;
  } catch {
    return undefined;
  }
}

export async function loadDecompressor(id: number, name: CompressorName, optionsBytes: Uint8Array | undefined): Promise<Decompressor> {
  const factory = await loadFactory();
  if (factory) return await factory(id, optionsBytes);
  if (name === 'gzip') return gzipFallback;
  throw new SquashfsError('UAI_SQFS_UNSUPPORTED', 'superblock', 20, `no decompressor for ${name} is available`);
}
