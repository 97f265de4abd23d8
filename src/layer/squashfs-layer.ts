/**
 * The `Layer` of a SquashFS image: an uncompressed OCI layer tar that is regenerated from
 * the random-access image on every `open()` (so a failed upload retries without a
 * temporary file) and whose digest, diff_id and size are learnt while the first stream
 * is read to its end. A later stream that ends with a different digest fails with
 * `UAI_LAYER_NOT_DETERMINISTIC` instead of silently publishing different bytes.
 */
import { throwIfAborted } from '../errors.ts';
import { digestStream, type StreamDigest } from './digest.ts';
import { LayerError } from './errors.ts';
import { layerTar, newLayerTarStats, type LayerTarOptions, type LayerTarStats, type TarSourceImage } from './layer-tar.ts';
import type { Layer } from './layer.ts';
import { loadInjections, type Injection } from './inject.ts';

export const MEDIA_TYPE_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export type SquashfsLayerOptions = Omit<LayerTarOptions, 'signal'> & {
  /** Aborts every stream of this layer (each `open()` may pass its own signal too). */
  signal?: AbortSignal;
};

/** A Layer that also reports what the last complete stream contained. */
export interface SquashfsLayer extends Layer {
  /** Entries written and skipped by the last stream read to its end. */
  stats(): LayerTarStats;
}

function notComputed(what: string): LayerError {
  return new LayerError('UAI_LAYER_NOT_COMPUTED', `the layer's ${what} is known only after one open() stream has been read to its end`, {
    details: { what },
  });
}

export function createSquashfsLayer(image: TarSourceImage, options: SquashfsLayerOptions = {}): SquashfsLayer {
  let result: StreamDigest | undefined;
  let lastStats: LayerTarStats | undefined;
  // Local files to inject are read once, on the first open, and reused by every later one.
  let injections: Promise<Injection[]> | undefined;
  const loadOnce = (signal: AbortSignal | undefined): Promise<Injection[]> => {
    if (!options.add || options.add.length === 0) return Promise.resolve([]);
    injections ??= loadInjections(options.add, { signal });
    injections.catch(() => {
      injections = undefined; // a failed or aborted read is retried by the next open
    });
    return injections;
  };

  async function* generate(signal: AbortSignal | undefined, stats: LayerTarStats): AsyncGenerator<Uint8Array, void, undefined> {
    const add = await loadOnce(signal);
    yield* layerTar(image, { ...options, add, ...(signal ? { signal } : {}) }, stats);
  }

  const open = (openOptions: { signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> => {
    const signals = [options.signal, openOptions.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    return {
      [Symbol.asyncIterator]() {
        throwIfAborted(signal);
        const stats = newLayerTarStats();
        const tar = generate(signal, stats);
        return digestStream(tar, (got) => {
          if (result && (result.digest !== got.digest || result.size !== got.size)) {
            throw new LayerError(
              'UAI_LAYER_NOT_DETERMINISTIC',
              `the layer was regenerated with a different result: ${got.digest} (${got.size} bytes), first ${result.digest} (${result.size} bytes)`,
              { details: { first: result.digest, again: got.digest } },
            );
          }
          result = got;
          lastStats = stats;
        })[Symbol.asyncIterator]();
      },
    };
  };

  return {
    mediaType: MEDIA_TYPE_LAYER_TAR,
    open,
    digest() {
      if (!result) throw notComputed('digest');
      return result.digest;
    },
    diffId() {
      if (!result) throw notComputed('diff_id');
      return result.digest;
    },
    size() {
      if (!result) throw notComputed('size');
      return result.size;
    },
    stats() {
      if (!lastStats) throw notComputed('stats');
      return lastStats;
    },
  };
}
