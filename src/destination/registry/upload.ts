/**
 * The blob upload protocol, one step per function: POST (start) → PATCH (one streamed
 * request, or opt-in chunks with Content-Range resumed from the registry's Range) →
 * PUT `?digest=` (commit). `Location` is opaque: resolved against the request URL
 * (relative or absolute), its query kept, and the newest one always used.
 */
import { createHash, type Hash } from 'node:crypto';
import { throwIfAborted } from '../../errors.ts';
import { RegistryError, redactUrl } from './errors.ts';
import { discard, header, type HttpResponse } from './http.ts';
import { isRetryable, retryWarning, sleep, backoffDelay } from './retry.ts';
import type { Session } from './session.ts';

export interface UploadContext {
  session: Session;
  repo: string;
  /** For messages: `layer sha256:…`. */
  what: string;
  signal?: AbortSignal;
}

/** The next upload URL from a response's Location (relative or absolute, query kept). */
export function nextLocation(res: HttpResponse): URL {
  const location = header(res, 'location');
  if (location === undefined || location === '') {
    throw new RegistryError('UAI_REGISTRY_PROTOCOL', `${res.method} ${redactUrl(res.url)} answered ${res.status} without a Location header`, {
      status: res.status,
      method: res.method,
      url: res.url,
    });
  }
  return new URL(location, res.url);
}

/** `location` with `digest=` appended, the existing query left byte-for-byte as it was. */
export function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  const param = `digest=${encodeURIComponent(digest)}`;
  url.search = url.search === '' || url.search === '?' ? `?${param}` : `${url.search}&${param}`;
  return url;
}

/** `0-1023` or `bytes=0-1023` → the next offset (1024); undefined when absent or unreadable. */
export function parseRange(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:bytes=)?(\d+)-(\d+)$/.exec(value.trim());
  if (m === null) return undefined;
  return Number(m[2]) + 1;
}

function opts(ctx: UploadContext): { repo: string; actions: ['pull', 'push']; signal?: AbortSignal } {
  return { repo: ctx.repo, actions: ['pull', 'push'], ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) };
}

/** POST /v2/<repo>/blobs/uploads/ → the first upload Location (and `OCI-Chunk-Min-Length`, if sent). */
export async function startUpload(ctx: UploadContext): Promise<{ location: URL; minChunk?: number }> {
  const res = await ctx.session.request({
    method: 'POST',
    url: `/v2/${ctx.repo}/blobs/uploads/`,
    headers: { 'content-length': '0' },
    body: new Uint8Array(0),
    ok: [202],
    what: `upload of ${ctx.what}`,
    ...opts(ctx),
  });
  await discard(res);
  const min = Number(header(res, 'oci-chunk-min-length'));
  return Number.isSafeInteger(min) && min > 0 ? { location: nextLocation(res), minChunk: min } : { location: nextLocation(res) };
}

/** One PATCH carrying the whole stream (no Content-Range; Content-Length only when known). */
export async function patchStream(ctx: UploadContext, location: URL, body: AsyncIterable<Uint8Array>, size?: number): Promise<URL> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (size !== undefined) headers['content-length'] = String(size);
  const res = await ctx.session.request({
    method: 'PATCH',
    url: location,
    headers,
    body,
    ok: [202, 201, 204],
    what: `upload of ${ctx.what}`,
    ...opts(ctx),
  });
  await discard(res);
  return nextLocation(res);
}

/** GET <location>: the upload's status, for resuming (204 with Range and Location). */
export async function uploadStatus(ctx: UploadContext, location: URL): Promise<{ location: URL; offset: number | undefined }> {
  const res = await ctx.session.request({
    method: 'GET',
    url: location,
    ok: [204, 200],
    what: `status of the upload of ${ctx.what}`,
    ...opts(ctx),
  });
  await discard(res);
  const next = header(res, 'location') === undefined ? location : nextLocation(res);
  return { location: next, offset: parseRange(header(res, 'range')) };
}

/**
 * PATCHes `body` in chunks of `chunkSize` with Content-Range. After a failed chunk it
 * asks the registry how much it has (GET status → Range) and sends the rest of that
 * chunk from there; it gives up when the registry's offset is outside the chunk in hand.
 */
export async function patchChunks(
  ctx: UploadContext,
  first: URL,
  body: AsyncIterable<Uint8Array>,
  chunkSize: number,
  onResume?: (offset: number) => void,
): Promise<URL> {
  let location = first;
  let offset = 0;
  for await (const chunk of rechunk(body, chunkSize)) {
    throwIfAborted(ctx.signal);
    let pending = chunk;
    let start = offset;
    for (let attempt = 0; pending.length > 0; attempt++) {
      try {
        const res = await ctx.session.request({
          method: 'PATCH',
          url: location,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${start}-${start + pending.length - 1}`,
            'content-length': String(pending.length),
          },
          body: pending,
          once: true,
          ok: [202, 201, 204],
          what: `chunk ${start}-${start + pending.length - 1} of ${ctx.what}`,
          ...opts(ctx),
        });
        await discard(res);
        location = nextLocation(res);
        start += pending.length;
        pending = pending.subarray(pending.length);
      } catch (err) {
        // 416: the registry disagrees about the offset (distribution 3.x) — resync too.
        const outOfRange = err instanceof RegistryError && err.status === 416;
        if (!(isRetryable(err) || outOfRange) || attempt >= ctx.session.retry.retries) throw err;
        const delay = backoffDelay(attempt, ctx.session.retry, err instanceof RegistryError ? err.retryAfterMs : undefined);
        ctx.session.warn(retryWarning(ctx.session.host, `PATCH chunk ${start}-${start + pending.length - 1} of ${ctx.what}`, err, attempt, delay, ctx.session.retry, 'resuming'));
        await sleep(delay, ctx.signal);
        const status = await uploadStatus(ctx, location);
        const at = status.offset ?? 0;
        if (status.offset === undefined || at < start || at > start + pending.length) throw err;
        onResume?.(at);
        location = status.location;
        pending = pending.subarray(at - start);
        start = at;
      }
    }
    offset += chunk.length;
  }
  return location;
}

/** PUT <location>&digest=… with an empty body; checks Docker-Content-Digest when sent. */
export async function commitUpload(ctx: UploadContext, location: URL, digest: string): Promise<void> {
  const res = await ctx.session.request({
    method: 'PUT',
    url: withDigest(location, digest),
    headers: { 'content-type': 'application/octet-stream', 'content-length': '0' },
    body: new Uint8Array(0),
    // Retried like any empty request; if a lost 201 makes the retry a 404
    // BLOB_UPLOAD_UNKNOWN, pushBlob finds the blob with a HEAD.
    ok: [201, 204, 200],
    what: `commit of ${ctx.what}`,
    ...opts(ctx),
  });
  await discard(res);
  const reported = header(res, 'docker-content-digest');
  if (reported !== undefined && reported !== digest) {
    throw new RegistryError('UAI_REGISTRY_DIGEST_INVALID', `the registry stored ${ctx.what} as ${reported}, not ${digest}`, {
      status: res.status,
      method: 'PUT',
      url: res.url,
      details: { expected: digest, reported },
    });
  }
}

/** DELETE <location>, ignoring failures (the spec says clients SHOULD, and may fail). */
export async function cancelUpload(ctx: UploadContext, location: URL): Promise<void> {
  try {
    const res = await ctx.session.request({ method: 'DELETE', url: location, once: true, ok: [204, 200, 202, 404], ...opts(ctx) });
    await discard(res);
  } catch {
    // best effort
  }
}

/** Regroups a byte stream into chunks of exactly `size` bytes (the last may be shorter). */
export async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(size);
  let used = 0;
  for await (const piece of source) {
    let at = 0;
    while (at < piece.length) {
      const n = Math.min(size - used, piece.length - at);
      buf.set(piece.subarray(at, at + n), used);
      used += n;
      at += n;
      if (used === size) {
        yield buf;
        buf = new Uint8Array(size);
        used = 0;
      }
    }
  }
  if (used > 0) yield buf.subarray(0, used);
}

/**
 * Passes bytes through while counting them and, unless told that the producer hashes
 * them already (`hash: false`), computing their sha256.
 */
export class HashingStream implements AsyncIterable<Uint8Array> {
  readonly #source: AsyncIterable<Uint8Array>;
  readonly #onBytes: ((bytes: number) => void) | undefined;
  readonly #hash: Hash | undefined;
  #size = 0;
  #done = false;

  constructor(source: AsyncIterable<Uint8Array>, onBytes?: (bytes: number) => void, options: { hash?: boolean } = {}) {
    this.#source = source;
    this.#onBytes = onBytes;
    this.#hash = options.hash === false ? undefined : createHash('sha256');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const hash = this.#hash;
    const onBytes = this.#onBytes;
    for await (const chunk of this.#source) {
      hash?.update(chunk);
      this.#size += chunk.length;
      onBytes?.(this.#size);
      yield chunk;
    }
    this.#done = true;
  }

  /** The bytes counted once the stream has been read to its end. */
  size(): number {
    if (!this.#done) {
      throw new RegistryError('UAI_REGISTRY_PROTOCOL', 'the blob stream was not read to its end before the commit');
    }
    return this.#size;
  }

  /** The digest and size once the stream has been read to its end (only when hashing). */
  result(): { digest: string; size: number } {
    const size = this.size();
    if (this.#hash === undefined) throw new RegistryError('UAI_REGISTRY_PROTOCOL', 'the blob stream was counted, not hashed');
    return { digest: `sha256:${this.#hash.digest('hex')}`, size };
  }
}
