/**
 * What every destination (registry, OCI layout, archives) does, in push order:
 * `prepare` (check access before reading anything), `writeLayer` for each layer (fed by
 * the shared one-pass stream; on a retry, by `layer.open()`), then `commit` (config,
 * manifest, and only then the tag), or `abort` (remove every temporary file, tag nothing).
 */
import type { WarningHandler } from '../errors.ts';
import type { Image } from '../image/image.ts';
import type { ImageFormat } from '../image/media-types.ts';
import type { LayerCompression } from '../layer/compression/compressed-layer.ts';
import type { Layer } from '../layer/layer.ts';
import type { DestinationRef } from './transport.ts';

export interface ProgressEvent {
  phase: 'prepare' | 'layer' | 'config' | 'manifest' | 'done';
  destination?: string;
  /** Bytes of the current blob so far. */
  bytes?: number;
  total?: number;
}

export interface DestinationOptions {
  signal?: AbortSignal;
  onWarning?: WarningHandler;
}

export interface WriteLayerOptions extends DestinationOptions {
  /** The first attempt's bytes, shared with other destinations in one pass; absent = call `layer.open()`. */
  stream?: AsyncIterable<Uint8Array>;
}

/** What `commit` needs to make its image: the manifest format it wants and fresh layer variants. */
export interface CommitContext {
  /** Config + manifest in `format` over layers already written (digests known). */
  assemble(format: ImageFormat, layers: readonly Layer[]): Image;
  /** The build's layer in another compression (not yet streamed), e.g. gzip for a Docker schema2 fallback. */
  layerVariant(compression: LayerCompression): Layer;
}

export interface DestinationResult {
  /** The DEST string as given. */
  destination: string;
  transport: DestinationRef['transport'];
  format: ImageFormat;
  manifestDigest: string;
  configDigest: string;
  /** The layer as this destination stored it. */
  layer: { digest: string; diffId: string; size: number; mediaType: string };
  /** `HOST/REPO@sha256:…` for registries, `oci:DIR:TAG`/file paths otherwise. */
  reference: string;
}

export interface Destination {
  readonly ref: DestinationRef;
  /** Short display name (`HOST/REPO:TAG`, `oci:DIR:TAG`). */
  readonly description: string;
  /** The compression this destination stores the layer in, given the build's choice. */
  layerCompression(requested: LayerCompression): LayerCompression;
  /** Checks that need no layer bytes (registry access and credentials, paths). */
  prepare(options?: DestinationOptions): Promise<void>;
  /** Stores one layer blob. */
  writeLayer(layer: Layer, options?: WriteLayerOptions): Promise<void>;
  /** Stores config and manifest and then, last, names the image (tag, index.json, archive rename). */
  commit(context: CommitContext, options?: DestinationOptions): Promise<DestinationResult>;
  /** Undoes what is temporary after a failure or abort; never throws. */
  abort(): Promise<void>;
  /** Releases connections and handles. */
  close(): Promise<void>;
}
