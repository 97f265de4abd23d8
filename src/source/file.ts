import { open, type FileHandle } from 'node:fs/promises';
import type { ByteSource, ReadOptions } from './byte-source.ts';
import { checkRange } from './check-range.ts';
import { SourceError } from './errors.ts';
import { throwIfAborted } from '../errors.ts';

export interface FileSourceOptions {
  /** Where the image starts inside the file (an image embedded in a larger file). */
  offset?: number;
  /** How many bytes from `offset` belong to the source; default: to the end of the file. */
  length?: number;
}

/** A ByteSource over a local file, with positional reads (no shared file position). */
export class FileSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  #handle: FileHandle | undefined;
  readonly #base: number;

  private constructor(handle: FileHandle, name: string, base: number, size: number) {
    this.#handle = handle;
    this.name = name;
    this.#base = base;
    this.size = size;
  }

  static async open(path: string, options: FileSourceOptions = {}): Promise<FileSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new SourceError(
        code === 'ENOENT' ? 'UAI_SOURCE_NOT_FOUND' : code === 'EACCES' ? 'UAI_SOURCE_DENIED' : 'UAI_SOURCE_IO',
        `${path}: cannot open: ${(cause as Error).message}`,
        { cause, details: { source: path } },
      );
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile() && !stat.isBlockDevice()) {
        throw new SourceError('UAI_SOURCE_IO', `${path}: not a regular file`, { details: { source: path } });
      }
      const base = options.offset ?? 0;
      if (!Number.isSafeInteger(base) || base < 0 || base > stat.size) {
        throw new SourceError('UAI_SOURCE_RANGE', `${path}: offset ${base} is outside the file (size ${stat.size})`, {
          details: { source: path, offset: base, size: stat.size },
        });
      }
      const size = options.length ?? stat.size - base;
      if (!Number.isSafeInteger(size) || size < 0 || base + size > stat.size) {
        throw new SourceError('UAI_SOURCE_RANGE', `${path}: length ${size} at offset ${base} passes the end (size ${stat.size})`, {
          details: { source: path, offset: base, length: size, size: stat.size },
        });
      }
      return new FileSource(handle, path, base, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const buffer = Buffer.allocUnsafe(length);
    await this.readInto(offset, buffer, options);
    return buffer;
  }

  /** `read` into the caller's buffer (the read-ahead recycles its run buffers with it). */
  async readInto(offset: number, target: Uint8Array, options?: ReadOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const handle = this.#handle;
    if (!handle) throw new SourceError('UAI_SOURCE_CLOSED', `${this.name}: read after close`);
    const length = target.length;
    checkRange(this, offset, length);
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(target, done, length - done, this.#base + offset + done));
      } catch (cause) {
        throw new SourceError('UAI_SOURCE_IO', `${this.name}: read of ${length} bytes at offset ${offset} failed: ${(cause as Error).message}`, {
          cause,
          details: { source: this.name, offset, length },
        });
      }
      if (bytesRead === 0) {
        throw new SourceError('UAI_SOURCE_SHORT_READ', `${this.name}: file ended ${length - done} bytes early reading at offset ${offset}`, {
          details: { source: this.name, offset, length, got: done },
        });
      }
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}
