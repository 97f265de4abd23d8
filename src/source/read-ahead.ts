/**
 * A caching, read-ahead wrapper for high-latency sources (HTTP, S3). The image is cut
 * into aligned windows (default 2 MiB); a read fetches the windows it touches, several
 * at once (p-limit), and keeps them in a small LRU cache. When reads walk forward (the
 * next window after the last one), the following `readAhead` windows are fetched in the
 * background; `prefetch(ranges)` hints do the same for ranges the reader announces.
 * Windows at the image's end (`tailBytes`: where SquashFS keeps its inode, directory,
 * fragment, id and xattr tables) are pinned and not evicted until `release()` says the
 * reader is done with them. Backend reads that fail
 * with a transient error (5xx, 429, reset, short body) are retried with backoff.
 */
import pLimit from 'p-limit';
import type { ByteSource, ReadOptions } from './byte-source.ts';
import { checkRange } from './check-range.ts';
import { SourceError } from './errors.ts';
import { throwIfAborted } from '../errors.ts';

export interface ReadAheadOptions {
  /**
   * Bytes per backend request and cache entry (default 2 MiB: as fast as 4 MiB from a
   * local s3rver, and 10-18 MiB less peak RSS for a build, the cache being 6 windows).
   */
  windowSize?: number;
  /** Backend requests in flight at once (default 4). */
  concurrency?: number;
  /** Windows fetched ahead of a forward-moving reader (default 4; 0 turns read-ahead off). */
  readAhead?: number;
  /**
   * Bytes of evictable windows kept, the windows being read ahead included: default and
   * minimum `(readAhead + 2) × windowSize` (12 MiB), what a forward stream needs.
   */
  cacheBytes?: number;
  /** Bytes at the end of the source that stay cached once read, until `release()`d (default 8 MiB). */
  tailBytes?: number;
  /** Extra attempts for a transient backend failure (default 4). */
  retries?: number;
  /** First backoff delay, doubled on each retry (default 250 ms). */
  retryDelayMs?: number;
  /** Which failures to retry; default: `details.transient`, short reads and I/O errors. */
  isTransient?: (err: unknown) => boolean;
  /** Told about each retry (the CLI may print it as a warning). */
  onRetry?: (info: { offset: number; length: number; attempt: number; error: unknown }) => void;
  /** Runs after the inner source is closed (e.g. closing the CSM context that refreshes credentials). */
  onClose?: () => Promise<void>;
}

export interface ReadAheadStats {
  /** `read()` calls. */
  reads: number;
  /** Backend `read()` calls, retries included. */
  backendReads: number;
  /** Backend bytes fetched. */
  backendBytes: number;
  /** Retries after transient failures. */
  retries: number;
  /** Reads whose windows were all cached or already being fetched (read-ahead or prefetch paid off). */
  hits: number;
}

interface Window {
  promise: Promise<Uint8Array>;
  bytes: number;
  pinned: boolean;
  /** The fetched bytes, once there. */
  buffer?: Uint8Array;
  /** A view of it was handed out by `read()`: never reuse its buffer. */
  exposed: boolean;
  /** `readInto` calls waiting on or copying from it: its buffer is not reused meanwhile. */
  users: number;
  /** Out of the cache: its buffer is recycled once `users` falls to 0 (unless exposed). */
  evicted?: boolean;
}

/** Idle window buffers kept for the next fetch (one is enough for a forward stream: evict one, fetch one). */
const MAX_FREE_WINDOWS = 2;

export function isTransientSourceError(err: unknown): boolean {
  const e = err as { code?: unknown; details?: { transient?: unknown } };
  if (e?.details?.transient === true) return true;
  if (e?.details?.transient === false) return false;
  return e?.code === 'UAI_SOURCE_SHORT_READ' || e?.code === 'UAI_SOURCE_IO';
}

export class ReadAheadSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  readonly stats: ReadAheadStats = { reads: 0, backendReads: 0, backendBytes: 0, retries: 0, hits: 0 };
  readonly #inner: ByteSource;
  readonly #window: number;
  readonly #ahead: number;
  readonly #cacheBytes: number;
  #tailStart: number;
  readonly #retries: number;
  readonly #delay: number;
  readonly #isTransient: (err: unknown) => boolean;
  readonly #onRetry: ReadAheadOptions['onRetry'];
  readonly #onClose: ReadAheadOptions['onClose'];
  readonly #limit: ReturnType<typeof pLimit>;
  readonly #cache = new Map<number, Window>();
  readonly #free: Uint8Array[] = [];
  readonly #abort = new AbortController();
  #cachedBytes = 0;
  /** Windows read lately: a read that continues one of them is sequential (several streams may interleave). */
  readonly #recent: number[] = [];
  #closed = false;

  constructor(inner: ByteSource, options: ReadAheadOptions = {}) {
    this.#inner = inner;
    this.size = inner.size;
    this.name = inner.name;
    this.#window = positive(options.windowSize, 2 * 1024 * 1024, 'windowSize');
    this.#ahead = Math.max(0, Math.floor(options.readAhead ?? 4));
    // The windows ahead, the one being read and one behind it: a forward stream keeps no
    // more than that alive, and a smaller cache would evict the window under the reader
    // to make room for the read-ahead (each window fetched over and over).
    const working = (this.#ahead + 2) * this.#window;
    this.#cacheBytes = Math.max(working, options.cacheBytes ?? working);
    this.#tailStart = Math.max(0, inner.size - Math.max(0, options.tailBytes ?? 8 * 1024 * 1024));
    this.#retries = Math.max(0, Math.floor(options.retries ?? 4));
    this.#delay = Math.max(0, options.retryDelayMs ?? 250);
    this.#isTransient = options.isTransient ?? isTransientSourceError;
    this.#onRetry = options.onRetry;
    this.#onClose = options.onClose;
    this.#limit = pLimit(positive(options.concurrency, 4, 'concurrency'));
  }

  async read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    this.#check(offset, length, options);
    if (length === 0) return new Uint8Array(0);
    const first = Math.floor(offset / this.#window);
    if (first === Math.floor((offset + length - 1) / this.#window)) {
      // A view of the window is handed out: its buffer is never reused.
      const [entry] = this.#windows(offset, length, 'view');
      const window = await raceAbort(entry!.promise, options?.signal);
      const start = offset - first * this.#window;
      return window.subarray(start, start + length);
    }
    const out = new Uint8Array(length);
    await this.#copyInto(this.#windows(offset, length, 'copy'), offset, out, options);
    return out;
  }

  /**
   * Copies the bytes into the caller's buffer: no view of a window escapes, so windows
   * only ever read this way are recycled for later fetches when evicted (with an inner
   * source that has `readInto`, a forward stream then allocates no new window buffers).
   */
  async readInto(offset: number, target: Uint8Array, options?: ReadOptions): Promise<void> {
    const length = target.length;
    this.#check(offset, length, options);
    if (length === 0) return;
    await this.#copyInto(this.#windows(offset, length, 'copy'), offset, target, options);
  }

  /** Waits for the windows (taken in 'copy' mode) and copies the read's bytes out of them, then lets them go. */
  async #copyInto(entries: readonly Window[], offset: number, out: Uint8Array, options: ReadOptions | undefined): Promise<void> {
    try {
      const windows = await raceAbort(Promise.all(entries.map((e) => e.promise)), options?.signal);
      this.#copy(windows, Math.floor(offset / this.#window), offset, out);
    } finally {
      for (const e of entries) {
        e.users--;
        this.#recycle(e);
      }
    }
  }

  #check(offset: number, length: number, options: ReadOptions | undefined): void {
    throwIfAborted(options?.signal);
    if (this.#closed) throw new SourceError('UAI_SOURCE_CLOSED', `${this.name}: read after close`);
    checkRange(this, offset, length);
    this.stats.reads++;
  }

  /**
   * The windows a read touches (fetching those not cached), and the read-ahead after them.
   * Each is claimed as it is taken, before anything else can evict it: 'view' marks it
   * exposed for good, 'copy' counts a user (the caller must decrement `users` when done).
   */
  #windows(offset: number, length: number, mode: 'view' | 'copy'): Window[] {
    const first = Math.floor(offset / this.#window);
    const last = Math.floor((offset + length - 1) / this.#window);
    const entries: Window[] = [];
    let hit = true;
    for (let i = first; i <= last; i++) {
      if (!this.#cache.has(i)) hit = false;
      const entry = this.#get(i);
      if (mode === 'view') entry.exposed = true;
      else entry.users++;
      entries.push(entry);
    }
    if (hit) this.stats.hits++;
    if (this.#ahead > 0 && (this.#recent.includes(first) || this.#recent.includes(first - 1))) {
      const lastIndex = Math.floor((this.size - 1) / this.#window);
      for (let i = last + 1; i <= Math.min(last + this.#ahead, lastIndex); i++) this.#background(i);
    }
    if (!this.#recent.includes(last)) {
      this.#recent.push(last);
      if (this.#recent.length > 16) this.#recent.shift();
    }
    return entries;
  }

  #copy(windows: readonly Uint8Array[], first: number, offset: number, out: Uint8Array): void {
    const length = out.length;
    let done = 0;
    for (let k = 0; k < windows.length; k++) {
      const base = (first + k) * this.#window;
      const from = Math.max(offset, base) - base;
      const to = Math.min(offset + length, base + this.#window) - base;
      out.set(windows[k]!.subarray(from, to), done);
      done += to - from;
    }
  }

  prefetch(ranges: ReadonlyArray<{ offset: number; length: number }>): void {
    if (this.#closed) return;
    let budget = Math.max(this.#window, Math.floor(this.#cacheBytes / 2));
    for (const r of ranges) {
      if (r.length <= 0 || r.offset < 0 || r.offset >= this.size) continue;
      const first = Math.floor(r.offset / this.#window);
      const last = Math.floor((Math.min(this.size, r.offset + r.length) - 1) / this.#window);
      for (let i = first; i <= last; i++) {
        if (budget <= 0) return;
        if (!this.#cache.has(i)) budget -= this.#window;
        this.#background(i);
      }
    }
  }

  /**
   * Frees the windows that lie wholly inside the ranges (pinned tail windows too: their
   * buffers go to the next fetches) and makes those that only overlap them evictable.
   * A range that reaches the source's end ends the tail's pinning altogether. A window
   * still being read by `readInto` is freed when that read is done.
   */
  release(ranges: ReadonlyArray<{ offset: number; length: number }>): void {
    if (this.#closed) return;
    for (const r of ranges) {
      if (r.length <= 0 || r.offset >= this.size) continue;
      const start = Math.max(0, r.offset);
      const end = Math.min(this.size, r.offset + r.length);
      // The source's end released: whatever the tail pinned, and later reads of it, are
      // cached like any other window (the tables the pin was for have been read).
      if (end >= this.size) this.#unpinAll();
      for (let i = Math.floor(start / this.#window); i * this.#window < end; i++) {
        const entry = this.#cache.get(i);
        if (!entry) continue;
        const from = i * this.#window;
        if (from >= start && from + entry.bytes <= end) {
          this.#drop(i, entry);
          entry.evicted = true;
          this.#recycle(entry);
        } else {
          this.#unpin(entry);
        }
      }
    }
    this.#evict();
  }

  #unpinAll(): void {
    this.#tailStart = this.size;
    for (const entry of this.#cache.values()) this.#unpin(entry);
  }

  /** A pinned window becomes an ordinary one: counted in the cache, evictable. */
  #unpin(entry: Window): void {
    if (!entry.pinned) return;
    entry.pinned = false;
    this.#cachedBytes += entry.bytes;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new SourceError('UAI_SOURCE_CLOSED', `${this.name}: closed`));
    this.#limit.clearQueue();
    this.#cache.clear();
    this.#free.length = 0;
    try {
      await this.#inner.close();
    } finally {
      await this.#onClose?.();
    }
  }

  /** Starts fetching a window nobody waits for yet; a failure just drops it from the cache. */
  #background(index: number): void {
    this.#get(index).promise.catch(() => {});
  }

  #get(index: number): Window {
    const hit = this.#cache.get(index);
    if (hit) {
      this.#cache.delete(index);
      this.#cache.set(index, hit);
      return hit;
    }
    const start = index * this.#window;
    const length = Math.min(this.#window, this.size - start);
    const pinned = start + length > this.#tailStart;
    const entry: Window = { promise: this.#limit(() => this.#fetch(start, length)), bytes: length, pinned, exposed: false, users: 0 };
    this.#cache.set(index, entry);
    if (!pinned) this.#cachedBytes += length;
    entry.promise.then(
      (bytes) => {
        entry.buffer = bytes;
      },
      () => {
        if (this.#cache.get(index) === entry) this.#drop(index, entry);
      },
    );
    this.#evict();
    return entry;
  }

  /** An evicted window's buffer serves the next fetch once no view of it exists and no readInto uses it. */
  #recycle(entry: Window): void {
    const buffer = entry.buffer;
    if (!entry.evicted || entry.exposed || entry.users > 0 || buffer === undefined) return;
    entry.buffer = undefined;
    if (buffer.length === this.#window && this.#free.length < MAX_FREE_WINDOWS && !this.#closed) this.#free.push(buffer);
  }

  #drop(index: number, entry: Window): void {
    this.#cache.delete(index);
    if (!entry.pinned) this.#cachedBytes -= entry.bytes;
  }

  #evict(): void {
    for (const [index, entry] of this.#cache) {
      if (this.#cachedBytes <= this.#cacheBytes) return;
      if (entry.pinned) continue;
      this.#drop(index, entry);
      entry.evicted = true;
      this.#recycle(entry);
    }
  }

  async #fetch(offset: number, length: number): Promise<Uint8Array> {
    const signal = this.#abort.signal;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal);
      this.stats.backendReads++;
      try {
        let bytes: Uint8Array;
        if (this.#inner.readInto && length === this.#window) {
          // A recycled buffer, or a new one; a failed read's buffer is left to the GC.
          bytes = this.#free.pop() ?? new Uint8Array(length);
          await this.#inner.readInto(offset, bytes, { signal });
        } else {
          bytes = await this.#inner.read(offset, length, { signal });
        }
        this.stats.backendBytes += bytes.length;
        return bytes;
      } catch (err) {
        if (signal.aborted || attempt >= this.#retries || !this.#isTransient(err)) throw err;
        this.stats.retries++;
        this.#onRetry?.({ offset, length, attempt: attempt + 1, error: err });
        await sleep(this.#delay * 2 ** attempt * (0.5 + Math.random() / 2), signal);
      }
    }
  }
}

function positive(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`ReadAheadSource: ${what} must be a positive integer, not ${v}`);
  return v;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits for a shared fetch, but lets one reader give up without cancelling it for others. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new SourceError('UAI_SOURCE_IO', 'aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
