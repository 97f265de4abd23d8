/**
 * The push order for a set of destinations: prepare all (access checks) → one pass per
 * layer compression through `tee` (a destination that fails mid-stream retries alone
 * from `layer.open()`) → commit each (config, manifest, then the tag). On any failure or
 * abort, every destination's `abort()` removes what is temporary; nothing is tagged
 * unless all of its blobs are in place.
 */
import type { Destination, DestinationResult } from '../destination/destination.ts';
import { tee } from '../destination/tee.ts';
import { isUaiError, type WarningHandler } from '../errors.ts';
import type { Image } from '../image/image.ts';
import type { ImageFormat } from '../image/media-types.ts';
import type { LayerCompression } from '../layer/compression/compressed-layer.ts';
import type { Layer } from '../layer/layer.ts';

export interface BuildProgress {
  phase: 'resolve' | 'check' | 'prepare' | 'layer' | 'commit' | 'done';
  /** Uncompressed layer tar bytes produced so far in this pass. */
  bytes?: number;
  /** Expected total, when known. */
  total?: number;
  /** What the pass is writing (`gzip layer → HOST/REPO:TAG, oci:DIR:TAG`). */
  detail?: string;
}

export interface PublishOptions {
  destinations: readonly Destination[];
  compression: LayerCompression;
  /** The layer in a compression (cached: one object per compression, so its digests are shared). */
  layerVariant(compression: LayerCompression): Layer;
  assemble(format: ImageFormat, layers: readonly Layer[]): Image;
  signal?: AbortSignal;
  onWarning?: WarningHandler;
  onProgress?: (event: BuildProgress) => void;
}

export async function publish(options: PublishOptions): Promise<DestinationResult[]> {
  const { destinations, signal } = options;
  const common = { ...(signal ? { signal } : {}), ...(options.onWarning ? { onWarning: options.onWarning } : {}) };
  try {
    options.onProgress?.({ phase: 'prepare' });
    await Promise.all(destinations.map((d) => d.prepare(common)));

    const groups = new Map<LayerCompression, Destination[]>();
    for (const d of destinations) {
      const c = d.layerCompression(options.compression);
      groups.set(c, [...(groups.get(c) ?? []), d]);
    }
    for (const [compression, group] of groups) {
      signal?.throwIfAborted();
      const layer = options.layerVariant(compression);
      const detail = `${compression === 'none' ? 'tar' : compression} layer → ${group.map((d) => d.description).join(', ')}`;
      options.onProgress?.({ phase: 'layer', bytes: 0, detail });
      const source = layer.open(signal ? { signal } : {});
      const outcome = await tee(
        source,
        group.map((d) => (stream: AsyncIterable<Uint8Array>) => d.writeLayer(layer, { ...common, stream })),
        signal ? { signal } : {},
      );
      if (outcome.sourceError) throw outcome.sourceError.error;
      for (const [i, result] of outcome.results.entries()) {
        if (result.status === 'fulfilled') continue;
        signal?.throwIfAborted();
        const d = group[i]!;
        // The registry client already retried (re-opening the layer) as far as it was worth it;
        // another round here would multiply its attempts and retry errors that never heal.
        if (isRegistryError(result.reason)) throw result.reason;
        options.onWarning?.({
          code: 'UAI_DEST_RETRY',
          message: `${d.description}: layer write failed (${(result.reason as Error)?.message ?? result.reason}); retrying it alone from the rootfs`,
          details: { destination: d.ref.raw },
        });
        await d.writeLayer(layer, common);
      }
    }

    options.onProgress?.({ phase: 'commit' });
    const context = { assemble: options.assemble, layerVariant: options.layerVariant };
    const results: DestinationResult[] = [];
    for (const d of destinations) {
      signal?.throwIfAborted();
      results.push(await d.commit(context, common));
    }
    return results;
  } catch (err) {
    await Promise.all(destinations.map((d) => d.abort()));
    throw err;
  } finally {
    await Promise.all(destinations.map((d) => d.close().catch(() => undefined)));
  }
}

function isRegistryError(err: unknown): boolean {
  return isUaiError(err) && err.code.startsWith('UAI_REGISTRY_');
}
