/**
 * zstd compression of a byte stream through node:zlib (Node 22.15+), one frame.
 */
import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { LayerError } from '../errors.ts';

export interface ZstdOptions {
  /** zstd level, 1-19 (default 3, zstd's default). */
  level?: number;
  signal?: AbortSignal;
}

type ZstdFactory = (options: { params: Record<number, number> }) => NodeJS.ReadWriteStream;

/** True when this Node has zstd in node:zlib. */
export function zstdAvailable(): boolean {
  return typeof (zlib as unknown as { createZstdCompress?: unknown }).createZstdCompress === 'function';
}

export async function* zstdCompress(input: AsyncIterable<Uint8Array>, options: ZstdOptions = {}): AsyncGenerator<Uint8Array> {
  if (!zstdAvailable()) {
    throw new LayerError('UAI_LAYER_COMPRESSION_UNSUPPORTED', `zstd layers need Node >= 22.15 (node:zlib zstd); this is ${process.version}`);
  }
  const level = options.level ?? 3;
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new RangeError(`zstd level ${level} is not 1-22`);
  const z = zlib as unknown as { createZstdCompress: ZstdFactory; constants: Record<string, number> };
  const params: Record<number, number> = { [z.constants.ZSTD_c_compressionLevel!]: level };
  if (z.constants.ZSTD_c_checksumFlag !== undefined) params[z.constants.ZSTD_c_checksumFlag] = 1;
  const compressor = z.createZstdCompress({ params });
  const source = Readable.from(input, { objectMode: false });
  const out = pipeline(source, compressor as unknown as NodeJS.WritableStream & NodeJS.ReadableStream, () => {});
  const onAbort = () => source.destroy(options.signal?.reason as Error);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) yield chunk;
    options.signal?.throwIfAborted();
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    source.destroy();
  }
}
