/**
 * A zlib (SquashFS "gzip") Decompressor on node:zlib, used until the codec factory in
 * `compression/index.ts` exists. Output is capped with `maxOutputLength`.
 */
import { inflate, inflateSync, type ZlibOptions } from 'node:zlib';
import type { Decompressor } from './compression/decompressor.ts';
import { SquashfsError } from './errors.ts';

function options(maxOutput: number): ZlibOptions {
  return { maxOutputLength: Math.max(1, maxOutput), chunkSize: Math.max(64, Math.min(maxOutput, 1 << 20)) };
}

function fail(cause: unknown, maxOutput: number): SquashfsError {
  return new SquashfsError('UAI_SQFS_DECOMPRESS', 'gzip block', undefined, `cannot inflate (limit ${maxOutput} bytes): ${(cause as Error).message}`, { cause });
}

export const gzipFallback: Decompressor = {
  name: 'gzip',
  decompressSync(input: Uint8Array, maxOutput: number): Uint8Array {
    try {
      return inflateSync(input, options(maxOutput));
    } catch (cause) {
      throw fail(cause, maxOutput);
    }
  },
  decompress(input: Uint8Array, maxOutput: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      inflate(input, options(maxOutput), (err, out) => (err ? reject(fail(err, maxOutput)) : resolve(out)));
    });
  },
};
