/**
 * An image, in go-containerregistry's shape: the config bytes, the manifest bytes and
 * the layers, each with its digest. Destinations write exactly these bytes (a registry
 * stores the manifest byte for byte, so the digest we print is the one it serves).
 */
import type { Layer } from '../layer/layer.ts';
import { imageConfigBytes, type ImageConfigInput } from './config.ts';
import { sha256Digest, type Descriptor } from './digest.ts';
import { manifestBytes } from './manifest.ts';
import { configMediaType, manifestMediaType, type ImageFormat } from './media-types.ts';

export interface Image {
  readonly format: ImageFormat;
  readonly config: { readonly bytes: Uint8Array; readonly descriptor: Descriptor };
  readonly manifest: { readonly bytes: Uint8Array; readonly descriptor: Descriptor };
  /** The layers, base first, each streamed (and digested) before the image was assembled. */
  readonly layers: readonly Layer[];
  readonly platform: { architecture: string; os: string; variant?: string };
}

export interface AssembleOptions {
  format: ImageFormat;
  /** Everything of the config except the diff_ids, which come from the layers. */
  config: Omit<ImageConfigInput, 'diffIds'>;
  /** Layers whose streams have been read to the end (digests known). */
  layers: readonly Layer[];
  annotations?: Readonly<Record<string, string>>;
}

/** Config, then manifest, from layers already streamed (layers first: digests come from the stream). */
export function assembleImage(options: AssembleOptions): Image {
  const config = imageConfigBytes({ ...options.config, diffIds: options.layers.map((l) => l.diffId()) });
  const configDescriptor: Descriptor = {
    mediaType: configMediaType(options.format),
    digest: sha256Digest(config),
    size: config.length,
  };
  const manifest = manifestBytes({
    format: options.format,
    config: configDescriptor,
    layers: options.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest(), size: l.size() })),
    annotations: options.annotations,
  });
  const platform: Image['platform'] = { architecture: options.config.architecture, os: options.config.os ?? 'linux' };
  if (options.config.variant) platform.variant = options.config.variant;
  return {
    format: options.format,
    config: { bytes: config, descriptor: configDescriptor },
    manifest: {
      bytes: manifest,
      descriptor: { mediaType: manifestMediaType(options.format), digest: sha256Digest(manifest), size: manifest.length },
    },
    layers: options.layers,
    platform,
  };
}
