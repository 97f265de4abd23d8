/**
 * `docker://HOST/REPO:TAG`: push to a registry through the RegistryClient, in the order
 * that never leaves a tag pointing at missing blobs: access check (before any layer byte
 * is read), layer blob, config blob, then ONE manifest PUT by tag. If the registry turns
 * the OCI manifest down as invalid or unsupported (MANIFEST_INVALID, UNSUPPORTED,
 * TAG_INVALID, or HTTP 415), the image is re-sent as Docker v2 schema2 with a gzip layer,
 * regenerated from the rootfs, and a warning says so (containers/image does the same).
 */
import type { WarningHandler } from '../errors.ts';
import type { Image } from '../image/image.ts';
import type { ImageFormat } from '../image/media-types.ts';
import type { LayerCompression } from '../layer/compression/compressed-layer.ts';
import type { Layer } from '../layer/layer.ts';
import type { RegistryClientApi, RegistryClientOptions } from './registry/client-api.ts';
import { RegistryClient } from './registry/client.ts';
import type { CommitContext, Destination, DestinationOptions, DestinationResult, WriteLayerOptions } from './destination.ts';
import { DestinationError } from './errors.ts';
import { describeDestination, type DestinationRef } from './transport.ts';

export type RegistryClientFactory = (host: string, options: RegistryClientOptions) => RegistryClientApi;

export interface RegistryDestinationOptions {
  /** Manifest format to push first (default oci; docker = schema2 with a gzip layer). */
  format?: ImageFormat;
  client?: RegistryClientOptions;
  /** For tests: how to make the client (default `new RegistryClient(host, options)`). */
  clientFactory?: RegistryClientFactory;
  onWarning?: WarningHandler;
}

const REJECTED_CODES = ['MANIFEST_INVALID', 'UNSUPPORTED', 'TAG_INVALID', 'MANIFEST_UNVERIFIED'];

/** True when a manifest PUT failed because the registry does not take this manifest type. */
export function isManifestTypeRejected(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown; hasRegistryCode?: (c: string) => boolean; details?: Record<string, unknown> };
  const status = typeof e?.status === 'number' ? e.status : e?.details?.status;
  if (status === 415) return true;
  if (status !== 400 && status !== 405) return false;
  if (typeof e.hasRegistryCode === 'function' && REJECTED_CODES.some((c) => e.hasRegistryCode!(c))) return true;
  const listed = e.details?.registryErrors;
  return Array.isArray(listed) && listed.some((c) => REJECTED_CODES.includes(String(c)));
}

/** The layer's digest and size, or undefined while no stream of it has been read to its end. */
function layerDigest(layer: Layer): { digest: string; size: number } | undefined {
  try {
    return { digest: layer.digest(), size: layer.size() };
  } catch {
    return undefined;
  }
}

export class RegistryDestination implements Destination {
  readonly ref: Extract<DestinationRef, { transport: 'docker' }>;
  readonly description: string;
  readonly #format: ImageFormat;
  readonly #client: RegistryClientApi;
  readonly #onWarning: WarningHandler | undefined;
  readonly #layers: Layer[] = [];

  constructor(ref: Extract<DestinationRef, { transport: 'docker' }>, options: RegistryDestinationOptions = {}) {
    this.ref = ref;
    this.description = describeDestination(ref);
    this.#format = options.format ?? 'oci';
    const factory = options.clientFactory ?? ((host, o) => new RegistryClient(host, o));
    this.#client = factory(ref.host, { ...options.client, ...(options.onWarning ? { onWarning: options.onWarning } : {}) });
    this.#onWarning = options.onWarning;
  }

  layerCompression(requested: LayerCompression): LayerCompression {
    return this.#format === 'docker' ? 'gzip' : requested;
  }

  async prepare(options: DestinationOptions = {}): Promise<void> {
    await this.#client.checkAccess(this.ref.repository, ['pull', 'push'], options.signal);
  }

  async #pushLayer(layer: Layer, options: WriteLayerOptions): Promise<void> {
    // Unknown before the first stream: the client then learns it from the stream.
    const known = layerDigest(layer);
    const digest = known?.digest;
    const size = known?.size;
    const pushed = await this.#client.pushBlob(
      this.ref.repository,
      {
        ...(digest === undefined ? {} : { digest }),
        ...(size === undefined ? {} : { size }),
        open: (signal) => layer.open({ signal: signal ?? options.signal }),
        // The layer hashes the bytes it yields (that is how it learns its digest): once a
        // stream of it has ended, its digest is that stream's, so the client need not hash again.
        streamedDigest: () => layerDigest(layer),
        label: 'layer',
      },
      { ...(options.stream ? { stream: options.stream } : {}), ...(options.signal ? { signal: options.signal } : {}) },
    );
    if (pushed.digest !== layer.digest()) {
      throw new DestinationError('UAI_DEST_LAYER_MISMATCH', `${this.description}: the registry stored the layer as ${pushed.digest}, the stream hashed to ${layer.digest()}`);
    }
  }

  async writeLayer(layer: Layer, options: WriteLayerOptions = {}): Promise<void> {
    await this.#pushLayer(layer, options);
    this.#layers.push(layer);
  }

  async #pushImage(image: Image, signal: AbortSignal | undefined): Promise<string> {
    const config = image.config;
    await this.#client.pushBlob(
      this.ref.repository,
      {
        digest: config.descriptor.digest,
        size: config.bytes.length,
        open: async function* () {
          yield config.bytes;
        },
        label: 'config',
      },
      signal ? { signal } : {},
    );
    signal?.throwIfAborted();
    const { digest } = await this.#client.putManifest(this.ref.repository, this.ref.tag, image.manifest.bytes, image.manifest.descriptor.mediaType, signal);
    return digest;
  }

  async commit(context: CommitContext, options: DestinationOptions = {}): Promise<DestinationResult> {
    const signal = options.signal;
    let layers: readonly Layer[] = this.#layers;
    let image = context.assemble(this.#format, layers);
    let manifestDigest: string;
    try {
      manifestDigest = await this.#pushImage(image, signal);
    } catch (err) {
      if (this.#format !== 'oci' || !isManifestTypeRejected(err)) throw err;
      (options.onWarning ?? this.#onWarning)?.({
        code: 'UAI_DEST_FORMAT_FALLBACK',
        message: `${this.description}: the registry refused the OCI manifest (${(err as Error).message}); pushing Docker v2 schema2 with a gzip layer instead`,
        details: { destination: this.ref.raw },
      });
      layers = layers.map((l) => (l.mediaType.endsWith('+gzip') ? l : context.layerVariant('gzip')));
      for (const layer of layers) {
        if (!this.#layers.includes(layer)) await this.#pushLayer(layer, signal ? { signal } : {});
      }
      image = context.assemble('docker', layers);
      manifestDigest = await this.#pushImage(image, signal);
    }
    const layer = layers[0]!;
    return {
      destination: this.ref.raw,
      transport: 'docker',
      format: image.format,
      manifestDigest,
      configDigest: image.config.descriptor.digest,
      layer: { digest: layer.digest(), diffId: layer.diffId(), size: layer.size(), mediaType: image.format === 'docker' ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : layer.mediaType },
      reference: `${this.ref.host}/${this.ref.repository}@${manifestDigest}`,
    };
  }

  async abort(): Promise<void> {
    // Nothing was tagged; uploaded blobs without a manifest are garbage the registry collects.
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
