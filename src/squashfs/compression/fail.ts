/**
 * The one error every codec throws: `UAI_SQFS_DECOMPRESS` on the `data block` table with
 * no offset. The reader knows which table and offset the block came from and wraps or
 * rethrows with that context; the codec only says what went wrong.
 */
import { SquashfsError } from '../errors.ts';
import type { CompressorName } from './decompressor.ts';

export function decompressError(codec: CompressorName, reason: string, cause?: unknown): SquashfsError {
  const detail = cause instanceof Error && cause.message ? `: ${cause.message}` : '';
  return new SquashfsError('UAI_SQFS_DECOMPRESS', 'data block', undefined, `${codec}: ${reason}${detail}`, {
    cause,
    details: { codec },
  });
}

/** Rejects a `maxOutput` that no block can have (the codecs size buffers from it). */
export function checkMaxOutput(codec: CompressorName, maxOutput: number): void {
  if (!Number.isSafeInteger(maxOutput) || maxOutput < 1 || maxOutput > 16 * 1024 * 1024) {
    throw decompressError(codec, `maxOutput ${maxOutput} is not between 1 and 16 MiB`);
  }
}

/** Output longer than `maxOutput` is corruption, whatever the codec says. */
export function checkOutput(codec: CompressorName, output: Uint8Array, maxOutput: number): Uint8Array {
  if (output.length > maxOutput) {
    throw decompressError(codec, `output of ${output.length} bytes exceeds the limit of ${maxOutput}`);
  }
  return output;
}
