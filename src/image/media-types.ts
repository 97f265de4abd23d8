/**
 * The media types an image is written with. `oci` is the OCI image spec; `docker` is
 * Docker Image Manifest V2 Schema 2, which has no uncompressed layer type (gzip only).
 */
export type ImageFormat = 'oci' | 'docker';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** The manifest media type of a format. */
export function manifestMediaType(format: ImageFormat): string {
  return format === 'docker' ? DOCKER_MANIFEST : OCI_MANIFEST;
}

/** The config media type of a format. */
export function configMediaType(format: ImageFormat): string {
  return format === 'docker' ? DOCKER_CONFIG : OCI_CONFIG;
}

/**
 * The layer media type in `format` for a layer whose OCI media type is `ociType`.
 * Docker schema2 knows only gzip layers; anything else is refused (null).
 */
export function layerMediaTypeFor(format: ImageFormat, ociType: string): string | null {
  if (format === 'oci') return ociType;
  if (ociType === OCI_LAYER_GZIP || ociType === DOCKER_LAYER_GZIP) return DOCKER_LAYER_GZIP;
  return null;
}
