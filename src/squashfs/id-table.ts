/** The ID table: u32 uid/gid values that inodes refer to by a u16 index. */
import type { ByteSource } from '../source/byte-source.ts';
import type { Decompressor } from './compression/decompressor.ts';
import type { Superblock } from './superblock.ts';
import { SquashfsError } from './errors.ts';
import { describe, type Describe } from './meta-reader.ts';
import { loadLookupTable } from './table.ts';

export class IdTable {
  readonly #ids: Uint32Array;
  /** Absolute offset of the first metadata block (bounds the tables before it). */
  readonly firstBlock: number;
  readonly #listStart: number;

  private constructor(ids: Uint32Array, firstBlock: number, listStart: number) {
    this.#ids = ids;
    this.firstBlock = firstBlock;
    this.#listStart = listStart;
  }

  static async load(
    source: ByteSource,
    superblock: Superblock,
    decompressor: Decompressor,
    options: { lower: number; signal?: AbortSignal },
  ): Promise<IdTable> {
    const upper = superblock.xattrIdTableStart ?? superblock.bytesUsed;
    const table = await loadLookupTable(source, decompressor, {
      name: 'id table',
      listStart: superblock.idTableStart,
      count: superblock.idCount,
      entrySize: 4,
      lower: options.lower,
      upper,
      signal: options.signal,
    });
    const ids = new Uint32Array(superblock.idCount);
    const view = new DataView(table.bytes.buffer, table.bytes.byteOffset, table.bytes.byteLength);
    for (let i = 0; i < ids.length; i++) ids[i] = view.getUint32(i * 4, true);
    return new IdTable(ids, Math.min(...table.locations), superblock.idTableStart);
  }

  get count(): number {
    return this.#ids.length;
  }

  /** The id at `index`; throws UAI_SQFS_OUT_OF_BOUNDS past the table. */
  get(index: number, what: Describe): number {
    const id = this.#ids[index];
    if (id === undefined) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', 'id table', this.#listStart, `${describe(what)}: id index ${index} is not below the id count ${this.#ids.length}`);
    }
    return id;
  }
}
