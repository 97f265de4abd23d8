/**
 * The compressor options as `inspect` and `SquashfsImage.compressorOptions` show them: the
 * codec layer's typed decoding (compression/options.ts, the one decoder of the block),
 * flattened to plain fields (name lists joined with commas). A block whose size does not
 * fit its compressor is reported and ignored, as decoding blocks never needs the options.
 */
import type { CompressorName } from './compression/decompressor.ts';
import { COMPRESSOR_IDS, decodeCompressorOptions as decodeTyped } from './compression/index.ts';
import { SquashfsError } from './errors.ts';
import type { WarningHandler } from '../errors.ts';

export type CompressorOptions = Record<string, number | string | boolean>;

export function decodeCompressorOptions(
  compressor: CompressorName,
  bytes: Uint8Array,
  onWarning?: WarningHandler,
): CompressorOptions {
  let typed;
  try {
    typed = decodeTyped(COMPRESSOR_IDS[compressor], bytes);
  } catch (err) {
    if (!(err instanceof SquashfsError)) throw err;
    onWarning?.({
      code: 'UAI_SQFS_COMPRESSOR_OPTIONS',
      message: `${compressor} compressor options (${bytes.length} bytes) ignored: ${err.message}`,
      details: { compressor, length: bytes.length },
    });
    return { raw: Buffer.from(bytes).toString('hex') };
  }
  const flat: CompressorOptions = {};
  for (const [key, value] of Object.entries(typed)) {
    if (key === 'compressor' || value === undefined) continue;
    // No gzip strategy bit set means zlib's default strategy.
    flat[key] = Array.isArray(value) ? value.join(',') || (key === 'strategies' ? 'default' : 'none') : (value as number | string);
  }
  return flat;
}
