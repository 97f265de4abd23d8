export type { Layer } from './layer.ts';
export { LayerError, type LayerErrorCode } from './errors.ts';
export {
  createSquashfsLayer,
  MEDIA_TYPE_LAYER_TAR,
  type SquashfsLayer,
  type SquashfsLayerOptions,
} from './squashfs-layer.ts';
export {
  layerTar,
  newLayerTarStats,
  type LayerTarOptions,
  type LayerTarStats,
  type SkippedEntry,
  type TarSourceImage,
} from './layer-tar.ts';
export { DEFAULT_EXCLUDES, ExcludeFilter, type FilterOptions } from './filters.ts';
export { loadInjections, type Injection } from './inject.ts';
export { DigestCounter, digestStream, type StreamDigest } from './digest.ts';
export { encodeTarHeader, splitIndex, type TarHeaderFields } from './tar-header.ts';
export { encodePaxRecords, type PaxRecord } from './pax.ts';
// gzip/zstd layers around the uncompressed one (src/layer/compression/, its own owner).
export * from './compression/index.ts';
