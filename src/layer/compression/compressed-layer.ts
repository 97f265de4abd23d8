/**
 * Wraps an uncompressed tar `Layer` into a compressed one (tar+gzip or tar+zstd). The
 * diffId stays the inner tar's; digest and size are those of the compressed bytes,
 * learnt while a stream is read (like go-containerregistry's stream.Layer). `open()`
 * can be called again: the inner layer regenerates identical bytes and compression is
 * deterministic, so retries produce the same digest.
 */
import { createHash } from 'node:crypto';
import { LayerError } from '../errors.ts';
import type { Layer } from '../layer.ts';
import { parallelGzip } from './parallel-gzip.ts';
import { zstdCompress } from './zstd-stream.ts';

export type LayerCompression = 'none' | 'gzip' | 'zstd';

export const LAYER_MEDIA_TYPES: Record<LayerCompression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

export interface CompressLayerOptions {
  compression: LayerCompression;
  /** gzip 0-9 (default 1, `DEFAULT_GZIP_LEVEL`), zstd 1-19 (default 3). */
  level?: number;
  /** gzip: input bytes per parallel block (default 1 MiB). */
  blockSize?: number;
  /** gzip: blocks in flight (default `defaultGzipConcurrency()`: twice the cores the libuv pool can use). */
  concurrency?: number;
}

/** What is wrong with a compression level for its algorithm (naming the allowed range), or undefined. */
export function compressionLevelProblem(compression: LayerCompression, level: number | undefined): string | undefined {
  if (level === undefined || compression === 'none') return undefined;
  const [min, max] = compression === 'gzip' ? [0, 9] : [1, 19];
  if (Number.isInteger(level) && level >= min && level <= max) return undefined;
  return `compression level ${level} is out of range for ${compression} (${min}-${max})`;
}

/** Checks a compression level for its algorithm; throws a LayerError naming the allowed range. */
export function checkCompressionLevel(compression: LayerCompression, level: number | undefined): void {
  const problem = compressionLevelProblem(compression, level);
  if (problem !== undefined) {
    throw new LayerError('UAI_LAYER_BAD_OPTION', problem, { details: { field: 'compressionLevel', compression, level } });
  }
}

class CompressedLayer implements Layer {
  readonly mediaType: string;
  readonly #inner: Layer;
  readonly #options: CompressLayerOptions;
  #digest: string | undefined;
  #size: number | undefined;

  constructor(inner: Layer, options: CompressLayerOptions) {
    this.#inner = inner;
    this.#options = options;
    this.mediaType = LAYER_MEDIA_TYPES[options.compression];
  }

  async *open(options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    const signal = options.signal;
    const tar = this.#inner.open({ signal });
    const { compression, level, blockSize, concurrency } = this.#options;
    const out =
      compression === 'gzip'
        ? parallelGzip(tar, { level, blockSize, concurrency, signal })
        : zstdCompress(tar, { level, signal });
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of out) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (this.#digest !== undefined && this.#digest !== digest) {
      throw new LayerError('UAI_LAYER_NOT_DETERMINISTIC', `compressed layer: a second stream gave ${digest}, the first ${this.#digest}`, {
        details: { first: this.#digest, again: digest },
      });
    }
    this.#digest = digest;
    this.#size = size;
  }

  digest(): string {
    return this.#known(this.#digest, 'digest');
  }

  size(): number {
    return this.#known(this.#size, 'size');
  }

  diffId(): string {
    return this.#inner.diffId();
  }

  #known<T>(value: T | undefined, what: string): T {
    if (value === undefined) {
      throw new LayerError('UAI_LAYER_NOT_COMPUTED', `compressed layer: ${what} is known only after one stream has been read to its end`);
    }
    return value;
  }
}

/** The layer as `compression` says: the layer itself for `none`, else a compressing wrapper. */
export function compressLayer(inner: Layer, options: CompressLayerOptions): Layer {
  checkCompressionLevel(options.compression, options.level);
  if (options.compression === 'none') return inner;
  if (options.compression !== 'gzip' && options.compression !== 'zstd') {
    throw new LayerError('UAI_LAYER_BAD_OPTION', `compression ${JSON.stringify(options.compression)} is not none, gzip or zstd`, {
      details: { field: 'compression', compression: options.compression },
    });
  }
  return new CompressedLayer(inner, options);
}
