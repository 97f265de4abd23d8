/**
 * Random-access bytes: the only thing the SquashFS reader asks of where an image lives.
 * Backends (file, memory, HTTP, S3) implement it; caching and read-ahead are wrappers
 * around a source, not code inside each backend.
 */
export interface ReadOptions {
  signal?: AbortSignal;
}

export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** A short human name for messages: a path or a URL with secrets removed. */
  readonly name: string;
  /**
   * Reads exactly `length` bytes at `offset`. A read past the end throws
   * `UAI_SOURCE_RANGE`; a short read from the backend throws `UAI_SOURCE_SHORT_READ`.
   * The returned buffer may be shared with a cache: callers must not modify it.
   */
  read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array>;
  /**
   * Optional: reads exactly `target.length` bytes at `offset` into the caller's `target`
   * (same errors as `read`). Lets a reader recycle its buffers instead of allocating one
   * per read; backends that hand out cached or shared bytes simply leave it out.
   */
  readInto?(offset: number, target: Uint8Array, options?: ReadOptions): Promise<void>;
  /**
   * Hint that these ranges will be read soon (e.g. the blocks of the next files), so a
   * high-latency backend can fetch them in parallel. Optional; a no-op for local files.
   */
  prefetch?(ranges: ReadonlyArray<{ offset: number; length: number }>): void;
  /**
   * Hint that these ranges will not be read again (e.g. the SquashFS tables once they
   * are decoded), so a cache can free what it holds of them now instead of keeping it.
   * Optional; reading a released range again still works, it is just fetched anew.
   */
  release?(ranges: ReadonlyArray<{ offset: number; length: number }>): void;
  /** Releases file handles and sockets. Reads after close throw `UAI_SOURCE_CLOSED`. */
  close(): Promise<void>;
}
