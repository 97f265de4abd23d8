/**
 * pushBlob's strategy: HEAD first when the digest is known; otherwise stream it once,
 * hashing as it goes. A failed attempt is retried with a fresh `blob.open()` stream
 * (never a consumed one). At the commit, BLOB_UPLOAD_INVALID/UNKNOWN leads to a HEAD:
 * a blob that is there counts as pushed (the Nexus race, a lost 201).
 */
import { throwIfAborted } from '../../errors.ts';
import type { BlobUpload, PushedBlob, RegistryClientOptions } from './client-api.ts';
import { statBlob } from './blob-exists.ts';
import { RegistryError } from './errors.ts';
import { checkDigest, checkRepo } from './reference.ts';
import { isRetryable, retryWarning, withRetries } from './retry.ts';
import type { Session } from './session.ts';
import { HashingStream, cancelUpload, commitUpload, patchChunks, patchStream, startUpload, type UploadContext } from './upload.ts';

export interface PushBlobSettings {
  chunkSize?: number;
  onProgress?: RegistryClientOptions['onProgress'];
  onWarning?: RegistryClientOptions['onWarning'];
}

export async function pushBlob(
  session: Session,
  repo: string,
  blob: BlobUpload,
  settings: PushBlobSettings,
  options: { stream?: AsyncIterable<Uint8Array>; signal?: AbortSignal } = {},
): Promise<PushedBlob> {
  try {
    return await pushBlobOnce(session, repo, blob, settings, options);
  } finally {
    // Never leave a shared stream (one branch of a tee) waiting for us: not read (HEAD
    // hit, a failure before the upload), or abandoned half-way for a retry.
    if (options.stream !== undefined) release(options.stream);
  }
}

async function pushBlobOnce(
  session: Session,
  repo: string,
  blob: BlobUpload,
  settings: PushBlobSettings,
  options: { stream?: AsyncIterable<Uint8Array>; signal?: AbortSignal },
): Promise<PushedBlob> {
  checkRepo(repo);
  const signal = options.signal;
  throwIfAborted(signal);
  if (blob.digest !== undefined) {
    checkDigest(blob.digest);
    // Asked with the push scope: one token serves the HEAD and the upload.
    const stat = await statBlob(session, repo, blob.digest, signal, ['pull', 'push']);
    if (stat.exists) {
      settings.onProgress?.({ digest: blob.digest, bytes: stat.size ?? blob.size ?? 0, ...total(blob) });
      return { digest: blob.digest, size: stat.size ?? blob.size ?? 0, existed: true };
    }
  }
  const label = `${blob.label ?? 'blob'}${blob.digest === undefined ? '' : ` ${blob.digest}`}`;
  const ctx: UploadContext = { session, repo, what: label, ...(signal === undefined ? {} : { signal }) };
  let firstStream = options.stream;
  // Trust the producer's digest until it fails to report one; then hash the bytes here.
  let producerHashes = blob.streamedDigest !== undefined;
  return withRetries(
    async (attempt) => {
      if (attempt > 0 && options.stream !== undefined) release(options.stream);
      const source = attempt === 0 && firstStream !== undefined ? firstStream : blob.open(signal);
      firstStream = undefined;
      return uploadOnce(ctx, blob, source, settings, producerHashes);
    },
    session.retry,
    {
      ...(signal === undefined ? {} : { signal }),
      // POST, PUT and HEAD were already retried request by request; only a failed
      // stream (which cannot be replayed) restarts the upload from a fresh open().
      shouldRetry: (err) => {
        if (unreported.has(err as object)) producerHashes = false;
        return restartable.has(err as object);
      },
      onRetry: (err, attempt, delayMs) =>
        settings.onWarning?.(retryWarning(session.host, `upload of ${label} to ${repo}`, err, attempt, delayMs, session.retry, 'starting the upload over')),
    },
  );
}

/**
 * Tells a stream we will not read (more of) it: `return()` on its iterator, not awaited
 * (an iterator busy in `next()` finishes that step first). Harmless on a finished one.
 */
function release(stream: AsyncIterable<Uint8Array>): void {
  try {
    const done = stream[Symbol.asyncIterator]().return?.();
    if (done !== undefined) done.catch(() => undefined);
  } catch {
    // nothing to release
  }
}

/**
 * The producer's digest of the stream just sent, checked against what was counted. The
 * registry checks the digest itself when the upload is committed with it.
 */
function producerDigest(ctx: UploadContext, blob: BlobUpload, counted: number): { digest: string; size: number } {
  const reported = blob.streamedDigest?.();
  if (reported === undefined) {
    // E.g. a shared stream that was not the producer's own: start over and hash here.
    const err = new RegistryError('UAI_REGISTRY_PROTOCOL', `${ctx.what}: the stream ended but its producer reported no digest for it`, {
      details: { repo: ctx.repo },
    });
    restartable.add(err);
    unreported.add(err);
    throw err;
  }
  checkDigest(reported.digest);
  if (reported.size !== counted) {
    throw new RegistryError('UAI_REGISTRY_SIZE_INVALID', `${ctx.what}: ${counted} bytes streamed, but the producer reports ${reported.size} for ${reported.digest}`, {
      details: { expected: reported.size, computed: counted, digest: reported.digest, repo: ctx.repo },
    });
  }
  return { digest: reported.digest, size: counted };
}

/** Errors of the streaming phase: worth a whole new upload with a fresh stream. */
const restartable = new WeakSet<object>();
/** The producer reported no digest: the next attempt hashes the bytes itself. */
const unreported = new WeakSet<object>();

function total(blob: BlobUpload): { total?: number } {
  return blob.size === undefined ? {} : { total: blob.size };
}

async function uploadOnce(
  ctx: UploadContext,
  blob: BlobUpload,
  source: AsyncIterable<Uint8Array>,
  settings: PushBlobSettings,
  producerHashes: boolean,
): Promise<PushedBlob> {
  const progress = settings.onProgress;
  // A producer that hashes its bytes anyway reports the digest: no second sha256 here.
  const hashing = new HashingStream(
    source,
    progress === undefined ? undefined : (bytes) => progress({ ...(blob.digest === undefined ? {} : { digest: blob.digest }), bytes, ...total(blob) }),
    { hash: !producerHashes },
  );
  const started = await startUpload(ctx);
  let location = started.location;
  try {
    location =
      settings.chunkSize !== undefined && settings.chunkSize > 0
        ? // The registry's OCI-Chunk-Min-Length wins over a smaller chunk size.
          await patchChunks(ctx, location, hashing, Math.max(settings.chunkSize, started.minChunk ?? 0))
        : await patchStream(ctx, location, hashing, blob.size);
  } catch (err) {
    // A network error or 5xx mid-stream, or an upload session the registry no longer
    // knows (a stale or expired Location: 404 BLOB_UPLOAD_UNKNOWN/INVALID): start over.
    const lostSession = err instanceof RegistryError && (err.hasRegistryCode('BLOB_UPLOAD_UNKNOWN') || err.hasRegistryCode('BLOB_UPLOAD_INVALID'));
    if ((isRetryable(err) || lostSession) && typeof err === 'object' && err !== null) restartable.add(err);
    else await cancelUpload(ctx, location);
    throw err;
  }
  let digest: string;
  let size: number;
  try {
    ({ digest, size } = producerHashes ? producerDigest(ctx, blob, hashing.size()) : hashing.result());
  } catch (err) {
    await cancelUpload(ctx, location);
    throw err;
  }
  if (blob.digest !== undefined && blob.digest !== digest) {
    await cancelUpload(ctx, location);
    throw new RegistryError('UAI_REGISTRY_DIGEST_INVALID', `${ctx.what}: the bytes streamed hash to ${digest}, not the expected ${blob.digest}`, {
      details: { expected: blob.digest, computed: digest, repo: ctx.repo },
    });
  }
  if (blob.size !== undefined && blob.size !== size) {
    await cancelUpload(ctx, location);
    throw new RegistryError('UAI_REGISTRY_SIZE_INVALID', `${ctx.what}: ${size} bytes streamed, not the expected ${blob.size}`, {
      details: { expected: blob.size, computed: size, repo: ctx.repo },
    });
  }
  try {
    await commitUpload(ctx, location, digest);
  } catch (err) {
    if (err instanceof RegistryError && (err.hasRegistryCode('BLOB_UPLOAD_INVALID') || err.hasRegistryCode('BLOB_UPLOAD_UNKNOWN'))) {
      const stat = await statBlob(ctx.session, ctx.repo, digest, ctx.signal, ['pull', 'push']);
      if (stat.exists) {
        settings.onWarning?.({
          code: 'UAI_REGISTRY_UPLOAD_RACE',
          message: `the registry refused the commit of ${ctx.what} (${err.registryErrors.map((e) => e.code).join(', ')}) but has ${digest}: counted as pushed`,
          details: { digest, repo: ctx.repo },
        });
        return { digest, size: stat.size ?? size, existed: true };
      }
    }
    throw err;
  }
  return { digest, size, existed: false };
}
