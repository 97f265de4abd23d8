/**
 * The registry client's public surface, fixed here so that the image destinations
 * (src/destination/docker.ts) and the client (src/destination/registry/*) can be built
 * side by side. The client knows nothing of layers or SquashFS: it moves blobs and
 * manifests.
 */
import type { WarningHandler } from '../../errors.ts';

export interface RegistryClientOptions {
  /** `--creds USER:PASS` (wins over auth files). */
  creds?: { username: string; password: string };
  /** `--authfile`; else REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json, DOCKER_CONFIG/config.json, ~/.docker/config.json. */
  authfile?: string;
  /** false = skip TLS verification and allow plain HTTP (`--tls-verify=false`). Default true. */
  tlsVerify?: boolean;
  /** `--cert-dir DIR` (podman/skopeo layout: *.crt CAs, *.cert + *.key client pair). */
  certDir?: string;
  /** `--ca-file FILE`, added to the system CAs (NODE_EXTRA_CA_CERTS is honoured too). */
  caFile?: string;
  /** Opt-in chunked uploads of this many bytes, resumable from the registry's Range. */
  chunkSize?: number;
  /** Retries for network errors, 408, 429, 5xx (default 5), with backoff starting at `retryDelayMs` (default 500). */
  retries?: number;
  retryDelayMs?: number;
  /** Environment for credential lookups (default process.env). */
  env?: NodeJS.ProcessEnv;
  onWarning?: WarningHandler;
  /** Bytes sent so far for a blob (progress display). */
  onProgress?: (event: { digest?: string; bytes: number; total?: number }) => void;
}

export interface BlobUpload {
  /** Known digest (config blobs; layers on a retry). Lets the client HEAD first and skip. */
  digest?: string;
  size?: number;
  /**
   * The bytes; every call returns a fresh, identical stream. The client calls it again
   * to retry a failed streamed upload.
   */
  open(signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /**
   * Optional, for producers that hash their bytes anyway (a layer learns its digest while
   * it streams): the digest and size of the stream that has just been read to its end, or
   * undefined if the producer does not know them. When given, the client does not hash
   * the bytes a second time: it only counts them, checks that count against `size`, and
   * commits with the producer's digest, which the registry verifies against the bytes it
   * received (`PUT …?digest=` fails with DIGEST_INVALID otherwise). Called only after a
   * stream (the shared one or `open()`'s) has ended; undefined then cancels that upload
   * and starts it over from `open()`, the client hashing the bytes itself (one retry of
   * the client's budget; with no retries left, `UAI_REGISTRY_PROTOCOL`).
   */
  streamedDigest?(): { digest: string; size: number } | undefined;
  /** For messages and progress: what this blob is (`layer`, `config`). */
  label?: string;
}

export interface PushedBlob {
  digest: string;
  size: number;
  /** True when the registry already had it (HEAD hit, or accepted after BLOB_UPLOAD_INVALID). */
  existed: boolean;
}

export interface FetchedManifest {
  body: Uint8Array;
  mediaType: string;
  digest: string;
}

/** Implemented by `RegistryClient` in src/destination/registry/client.ts. */
export interface RegistryClientApi {
  /** `GET /v2/`, and the auth handshake for push access to `repo` (fails early on bad credentials). */
  checkAccess(repo: string, actions: ReadonlyArray<'pull' | 'push'>, signal?: AbortSignal): Promise<void>;
  blobExists(repo: string, digest: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * Uploads a blob. `stream`, when given, is the first attempt's bytes (shared with other
   * destinations in one pass); retries call `blob.open()`.
   */
  pushBlob(repo: string, blob: BlobUpload, options?: { stream?: AsyncIterable<Uint8Array>; signal?: AbortSignal }): Promise<PushedBlob>;
  /** PUT a manifest by tag or digest; returns the digest the registry reports (checked against ours). */
  putManifest(repo: string, reference: string, body: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<{ digest: string }>;
  getManifest(repo: string, reference: string, accept: ReadonlyArray<string>, signal?: AbortSignal): Promise<FetchedManifest>;
  /** Streams a blob, verifying its digest at the end. */
  getBlob(repo: string, digest: string, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}
