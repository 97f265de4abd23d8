import type { ByteSource, ReadOptions } from './byte-source.ts';
import { checkRange } from './check-range.ts';
import { SourceError } from './errors.ts';
import { throwIfAborted } from '../errors.ts';

/** A ByteSource over bytes already in memory (tests, small images, fuzzing). */
export class MemorySource implements ByteSource {
  readonly size: number;
  readonly name: string;
  #bytes: Uint8Array | undefined;

  constructor(bytes: Uint8Array, name = '<memory>') {
    this.#bytes = bytes;
    this.size = bytes.length;
    this.name = name;
  }

  async read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    if (!this.#bytes) throw new SourceError('UAI_SOURCE_CLOSED', `${this.name}: read after close`);
    checkRange(this, offset, length);
    return this.#bytes.subarray(offset, offset + length);
  }

  /** Copies into the caller's buffer (the reader may recycle it). */
  async readInto(offset: number, target: Uint8Array, options?: ReadOptions): Promise<void> {
    target.set(await this.read(offset, target.length, options));
  }

  async close(): Promise<void> {
    this.#bytes = undefined;
  }
}
