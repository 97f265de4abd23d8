export {
  compressLayer,
  checkCompressionLevel,
  compressionLevelProblem,
  LAYER_MEDIA_TYPES,
  type LayerCompression,
  type CompressLayerOptions,
} from './compressed-layer.ts';
export { DEFAULT_GZIP_LEVEL, defaultGzipConcurrency, parallelGzip, type ParallelGzipOptions } from './parallel-gzip.ts';
export { zstdCompress, zstdAvailable, type ZstdOptions } from './zstd-stream.ts';
