/**
 * Image manifests: OCI (`application/vnd.oci.image.manifest.v1+json`) and its Docker
 * v2 schema2 twin. Both always carry the top-level `mediaType` (distribution checks
 * Content-Type against it; Nexus misbehaves without it). Canonical JSON bytes.
 */
import { canonicalJson } from './canonical-json.ts';
import type { Descriptor } from './digest.ts';
import { ImageError } from './errors.ts';
import { configMediaType, layerMediaTypeFor, manifestMediaType, type ImageFormat } from './media-types.ts';

/**
 * The annotation key earlier versions wrote with the source path. No longer written by
 * `build` (it made the digest depend on how SOURCE was spelled and leaked local paths);
 * kept so readers can recognise it.
 */
export const SOURCE_ANNOTATION = 'uai-assembler.source';

export interface ManifestInput {
  format: ImageFormat;
  /** Digest and size of the config bytes (the media type follows the format). */
  config: { digest: string; size: number };
  /** Layer descriptors with their OCI media types; converted for `docker`. */
  layers: readonly Descriptor[];
  /** Manifest annotations (OCI only: schema2 has no annotations). */
  annotations?: Readonly<Record<string, string>>;
}

/** The manifest document (JSON values). */
export function manifestDocument(input: ManifestInput): Record<string, unknown> {
  const layers = input.layers.map((layer, i) => {
    const mediaType = layerMediaTypeFor(input.format, layer.mediaType);
    if (mediaType === null) {
      throw new ImageError(
        'UAI_IMAGE_LAYER_TYPE',
        `manifest: layer ${i} has media type ${layer.mediaType}, which Docker schema2 cannot carry (it needs a gzip layer)`,
        { details: { layer: i, mediaType: layer.mediaType } },
      );
    }
    const d: Record<string, unknown> = { mediaType, digest: layer.digest, size: layer.size };
    if (input.format === 'oci' && layer.annotations && Object.keys(layer.annotations).length > 0) {
      d.annotations = { ...layer.annotations };
    }
    return d;
  });
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: manifestMediaType(input.format),
    config: { mediaType: configMediaType(input.format), digest: input.config.digest, size: input.config.size },
    layers,
  };
  if (input.format === 'oci' && input.annotations && Object.keys(input.annotations).length > 0) {
    doc.annotations = { ...input.annotations };
  }
  return doc;
}

/** The manifest as canonical JSON bytes. */
export function manifestBytes(input: ManifestInput): Uint8Array {
  return canonicalJson(manifestDocument(input));
}
