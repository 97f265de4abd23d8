/**
 * A layer, in the shape go-containerregistry gives it: a few members, nothing about
 * where it goes. A streaming layer learns its digests while it is read, so `digest()`,
 * `diffId()` and `size()` throw `UAI_LAYER_NOT_COMPUTED` until one `open()` stream has
 * been read to its end. `open()` may be called again: the bytes are regenerated from
 * the random-access image and are identical (the build is deterministic), which is how
 * a failed upload is retried without a temporary file.
 */
export interface Layer {
  /** e.g. `application/vnd.oci.image.layer.v1.tar` or `…tar+gzip`. */
  readonly mediaType: string;
  /** The layer bytes as stored (compressed if the media type says so). */
  open(options?: { signal?: AbortSignal }): AsyncIterable<Uint8Array>;
  /** `sha256:…` of the bytes `open()` yields. */
  digest(): string;
  /** `sha256:…` of the uncompressed tar. */
  diffId(): string;
  /** Length of the bytes `open()` yields. */
  size(): number;
}
