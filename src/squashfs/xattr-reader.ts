/**
 * Extended attributes. The superblock points at a 16-byte header (u64 kv_start, u32
 * xattr_ids, u32 unused) followed by the locations of the xattr-id blocks. An xattr id
 * (16 B: u64 ref, u32 count, u32 size) points into the key/value area
 * (`[kv_start, first id block)`, as squashfs-tools reads it). Unlike the inode and
 * directory tables, that area is kept decoded whole: it is small (~125 KB for a 600k-entry
 * rootfs), and values handed out are views into it, so however many pairs refer to one
 * out-of-line value, memory stays bounded by the area (limits.maxMetadataBytes).
 * Values may be out of line (type bit 0x100): an 8-byte ref to the real value record.
 */
import type { ByteSource } from '../source/byte-source.ts';
import type { Decompressor } from './compression/decompressor.ts';
import type { Superblock } from './superblock.ts';
import type { WarningHandler } from '../errors.ts';
import { SquashfsError } from './errors.ts';
import { MetadataTable } from './meta-reader.ts';
import { loadLookupTable } from './table.ts';
import { readRef, readU64, refBlock, refOffset, viewOf } from './binary.ts';

const PREFIXES = ['user.', 'trusted.', 'security.'];
const EMPTY: ReadonlyMap<string, Uint8Array> = new Map();
const T = 'xattr table';
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

export class XattrReader {
  readonly #ids: DataView | undefined;
  readonly count: number;
  readonly #kv: MetadataTable | undefined;
  /** The whole key/value area decoded, and a view of it. */
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #cache = new Map<number, ReadonlyMap<string, Uint8Array>>();
  readonly #onWarning: WarningHandler | undefined;
  readonly #tableStart: number | undefined;
  #warnedIndex = false;
  /** Absolute offset where the xattr data starts (bounds the tables before it). */
  readonly firstBlock: number | undefined;

  private constructor(ids: DataView | undefined, count: number, kv: MetadataTable | undefined, tableStart: number | undefined, onWarning: WarningHandler | undefined) {
    this.#ids = ids;
    this.count = count;
    this.#kv = kv;
    this.#bytes = kv && kv.length > 0 ? kv.bytesAt(0, kv.length, T) : new Uint8Array(0);
    this.#view = viewOf(this.#bytes);
    this.#tableStart = tableStart;
    this.#onWarning = onWarning;
    this.firstBlock = kv?.start;
  }

  /** Reads the xattr header, the xattr-id table and the key/value area (absent → empty reader). */
  static async load(
    source: ByteSource,
    superblock: Superblock,
    decompressor: Decompressor,
    options: { lower: number; maxBytes: number; signal?: AbortSignal; onWarning?: WarningHandler },
  ): Promise<XattrReader> {
    const start = superblock.xattrIdTableStart;
    if (start === undefined) return new XattrReader(undefined, 0, undefined, undefined, options.onWarning);
    if (start + 16 > superblock.bytesUsed) throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', T, start, 'header passes bytes_used');
    const header = viewOf(await source.read(start, 16, { signal: options.signal }));
    const kvStart = readU64(header, 0, T, start, 'kv_start');
    const count = header.getUint32(8, true);
    if (count === 0) return new XattrReader(undefined, 0, undefined, start, options.onWarning);
    if (kvStart < options.lower || kvStart >= start) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', T, start, `kv_start ${kvStart} is outside [${options.lower}, ${start})`);
    }
    const table = await loadLookupTable(source, decompressor, {
      name: 'xattr id table',
      listStart: start + 16,
      count,
      entrySize: 16,
      lower: kvStart,
      upper: superblock.bytesUsed,
      signal: options.signal,
    });
    const kvEnd = Math.min(...table.locations);
    const kv = await MetadataTable.load(source, decompressor, { name: T, start: kvStart, end: kvEnd, maxBytes: options.maxBytes, signal: options.signal });
    return new XattrReader(viewOf(table.bytes), count, kv, start, options.onWarning);
  }

  /** The attributes of xattr index `index` (0xFFFFFFFF = none), full names → raw values. */
  get(index: number): ReadonlyMap<string, Uint8Array> {
    if (index === 0xffff_ffff || !this.#ids || !this.#kv) return EMPTY;
    if (index >= this.count) {
      if (!this.#warnedIndex) {
        this.#warnedIndex = true;
        this.#onWarning?.({
          code: 'UAI_SQFS_XATTR_INDEX',
          message: `xattr index ${index} is not below the xattr id count ${this.count}; such inodes get no xattrs`,
          details: { index, count: this.count },
        });
      }
      return EMPTY;
    }
    let found = this.#cache.get(index);
    if (!found) {
      found = this.#decode(index);
      this.#cache.set(index, found);
    }
    return found;
  }

  #decode(index: number): ReadonlyMap<string, Uint8Array> {
    const kv = this.#kv!;
    const ids = this.#ids!;
    const ref = readRef(ids, index * 16, 'xattr id table', this.#tableStart, `xattr id ${index} ref`);
    const count = ids.getUint32(index * 16 + 8, true);
    let pos = kv.resolve(refBlock(ref), refOffset(ref), `xattr id ${index}`);
    const what = `xattr id ${index}`;
    if (count * 8 > kv.remaining(pos)) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', T, kv.imageOffset(pos), `${what}: ${count} pairs cannot fit in the ${kv.remaining(pos)} bytes left`);
    }
    const view = this.#view;
    const out = new Map<string, Uint8Array>();
    for (let i = 0; i < count; i++) {
      kv.need(pos, 4, `${what} key ${i}`);
      const type = view.getUint16(pos, true);
      const nameSize = view.getUint16(pos + 2, true);
      kv.need(pos + 4, nameSize + 4, `${what} key ${i}`);
      const nameBytes = this.#bytes.subarray(pos + 4, pos + 4 + nameSize);
      pos += 4 + nameSize;
      let vsize = view.getUint32(pos, true);
      let valuePos = pos + 4;
      kv.need(valuePos, vsize, `${what} value ${i}`);
      pos = valuePos + vsize;
      if (type & 0x100) {
        if (vsize !== 8) throw new SquashfsError('UAI_SQFS_CORRUPTED', T, kv.imageOffset(valuePos), `${what}: out-of-line value reference is ${vsize} bytes, not 8`);
        const valueRef = readRef(view, valuePos, T, kv.imageOffset(valuePos), `${what} value ref`);
        const at = kv.resolve(refBlock(valueRef), refOffset(valueRef), `${what} out-of-line value`);
        kv.need(at, 4, `${what} out-of-line value`);
        vsize = view.getUint32(at, true);
        valuePos = at + 4;
        kv.need(valuePos, vsize, `${what} out-of-line value`);
      }
      if (type & ~0x1ff) {
        throw new SquashfsError('UAI_SQFS_CORRUPTED', T, kv.imageOffset(pos), `${what}: key type 0x${type.toString(16)} has unknown bits`);
      }
      const prefix = PREFIXES[type & 0xff];
      if (prefix === undefined) {
        this.#onWarning?.({
          code: 'UAI_SQFS_XATTR_PREFIX',
          message: `${what}: unknown xattr prefix id ${type & 0xff} for name ${JSON.stringify(latin1.decode(nameBytes))}; skipped`,
          details: { index, prefix: type & 0xff },
        });
        continue;
      }
      out.set(prefix + utf8.decode(nameBytes), this.#bytes.subarray(valuePos, valuePos + vsize));
    }
    return out;
  }
}
