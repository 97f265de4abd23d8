/**
 * Metadata blocks: a u16 header (bit 15 = stored uncompressed, low 15 bits = on-disk
 * size ≤ 8192) and at most 8192 bytes of payload. A `MetadataTable` is one region (the
 * inode table, the directory table, the xattr key/value area) kept as it is on disk,
 * compressed, with a map from on-disk block start to uncompressed position, so
 * references resolve to a position in the concatenation of the decoded blocks and
 * entries that cross blocks read as one run. Blocks are decoded when read, and the last
 * few are cached: the decoded tables of a 600k-entry image would take ~36 MB for the
 * whole run, where the compressed region takes ~16 MB and the cache 512 KiB. A table that
 * decodes to at most `keepDecoded` bytes (a small image's) keeps what `load` decoded
 * instead, copied into one buffer of exactly that size, and drops its compressed region:
 * it is never decoded twice, and a run across blocks is never joined.
 */
import type { ByteSource } from '../source/byte-source.ts';
import type { Decompressor } from './compression/decompressor.ts';
import { throwIfAborted } from '../errors.ts';
import { SquashfsError } from './errors.ts';
import { METADATA_SIZE } from './superblock.ts';

/** Region bytes read from the source per call while loading. */
const READ_WINDOW = 4 * 1024 * 1024;
/** Decoded blocks kept per table (8 KiB each): a walk reads a directory's children's inodes, which sit together. */
const CACHE_BLOCKS = 64;
const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

interface Block {
  bytes: Uint8Array;
  view: DataView;
}

/** What is being read, for error messages: a function when building the text would cost on the hot path. */
export type Describe = string | (() => string);

export function describe(what: Describe): string {
  return typeof what === 'string' ? what : what();
}

/** Decompresses one metadata block whose header is `header`; `payload` is its on-disk bytes. */
export function decodeMetadataBlock(
  decompressor: Decompressor,
  header: number,
  payload: Uint8Array,
  table: string,
  offset: number,
): Uint8Array {
  if (header & 0x8000) return payload;
  let out: Uint8Array;
  try {
    out = decompressor.decompressSync(payload, METADATA_SIZE);
  } catch (cause) {
    throw new SquashfsError('UAI_SQFS_DECOMPRESS', table, offset, `metadata block: ${(cause as Error).message}`, { cause });
  }
  if (out.length > METADATA_SIZE) {
    throw new SquashfsError('UAI_SQFS_CORRUPTED', table, offset, `metadata block decompressed to ${out.length} bytes, more than 8192`);
  }
  return out;
}

/** Validates a metadata block header; returns the on-disk payload size. */
export function metadataBlockSize(header: number, table: string, offset: number): number {
  const size = header & 0x7fff;
  if (size === 0 || size > METADATA_SIZE) {
    throw new SquashfsError('UAI_SQFS_CORRUPTED', table, offset, `metadata block header 0x${header.toString(16)}: size ${size} is not 1..8192`);
  }
  return size;
}

/** The u16 little-endian block header at `at`. */
function headerAt(raw: Uint8Array, at: number): number {
  return raw[at]! | (raw[at + 1]! << 8);
}

export interface MetadataTableOptions {
  /** A name for messages: `inode table`, `directory table`, `xattr table`. */
  name: string;
  /** Absolute image offset of the first block. */
  start: number;
  /** Absolute image offset the blocks must end at (exclusive). */
  end: number;
  /** Most decompressed bytes (UAI_SQFS_LIMIT past it). */
  maxBytes: number;
  /**
   * Keep the table decoded when it decodes to at most this many bytes and its on-disk
   * region is no larger (default 0: never). Saves decoding every block again on each
   * pass; the table then holds one buffer of its decoded size instead of the region.
   */
  keepDecoded?: number;
  signal?: AbortSignal;
}

export class MetadataTable {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  /** Decoded bytes in the table: positions run from 0 to this. */
  readonly length: number;
  readonly #decompressor: Decompressor;
  /** The region `[start, end)` as on disk. */
  readonly #raw: Uint8Array;
  /** On-disk block start (relative to `start`) → block index. */
  readonly #blocks: Map<number, number>;
  /** Per block: on-disk start (relative to `start`) and decoded start; one extra entry at the end. */
  readonly #diskStarts: number[];
  readonly #memStarts: number[];
  /** The whole table decoded, when it was small enough to keep (then `#raw` is empty and no block is decoded again). */
  readonly #whole: Block | undefined;
  /** Decoded blocks by index, least recently used first (tables not kept whole). */
  readonly #cache = new Map<number, Block>();
  #lastIndex = -1;
  #last: Block = { bytes: EMPTY, view: EMPTY_VIEW };
  /** What the last `seek` found: the decoded bytes holding its run, and a view of them. Do not modify. */
  bytes: Uint8Array = EMPTY;
  view: DataView = EMPTY_VIEW;

  private constructor(
    name: string,
    start: number,
    end: number,
    raw: Uint8Array,
    decompressor: Decompressor,
    diskStarts: number[],
    memStarts: number[],
    whole: Uint8Array | undefined,
  ) {
    this.name = name;
    this.start = start;
    this.end = end;
    this.#whole = whole && blockOf(whole);
    this.#raw = whole ? EMPTY : raw;
    this.#decompressor = decompressor;
    this.#diskStarts = diskStarts;
    this.#memStarts = memStarts;
    this.length = memStarts[memStarts.length - 1]!;
    this.#blocks = new Map();
    for (let i = 0; i < diskStarts.length - 1; i++) this.#blocks.set(diskStarts[i]!, i);
  }

  /**
   * Reads the region and decodes every block once, to check it and learn its length
   * (the decoded bytes are kept only within `keepDecoded`). The region itself is bounded
   * first: a table whose blocks cannot decode to at most `maxBytes` is refused before it
   * is read.
   */
  static async load(source: ByteSource, decompressor: Decompressor, options: MetadataTableOptions): Promise<MetadataTable> {
    const { name, start, end, signal, maxBytes } = options;
    const keepDecoded = options.keepDecoded ?? 0;
    const region = end - start;
    // Stored blocks are never larger on disk than decoded, plus their 2-byte header.
    const mostOnDisk = maxBytes + 2 * Math.ceil(maxBytes / METADATA_SIZE);
    if (region > mostOnDisk) {
      throw new SquashfsError('UAI_SQFS_LIMIT', name, start, `takes ${region} bytes on disk, more than can decompress to ${maxBytes} bytes (limits.maxMetadataBytes)`);
    }
    const raw = new Uint8Array(region);
    for (let at = 0; at < region; at += READ_WINDOW) {
      throwIfAborted(signal);
      const piece = raw.subarray(at, Math.min(region, at + READ_WINDOW));
      if (source.readInto) await source.readInto(start + at, piece, { signal });
      else piece.set(await source.read(start + at, piece.length, { signal }));
    }
    const diskStarts: number[] = [];
    const memStarts: number[] = [];
    // The decoded bytes are copied into `kept` as they come (never the codec's buffers,
    // which can be views of far larger ones: node:zlib hands out slices of 64 KiB), so a
    // table of many tiny blocks holds no more than its decoded size. mksquashfs stores a
    // block uncompressed when compressing does not shrink it, so a region larger than
    // `keepDecoded` decodes to about as much or more: such a table is not collected.
    let kept: Uint8Array | undefined = region <= keepDecoded ? new Uint8Array(Math.min(keepDecoded, Math.max(METADATA_SIZE, 3 * region))) : undefined;
    let total = 0;
    let rel = 0;
    while (rel < region) {
      if ((diskStarts.length & 255) === 255) throwIfAborted(signal);
      const pos = start + rel;
      if (rel + 2 > region) throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', name, pos, `metadata block header passes the table end ${end}`);
      const header = headerAt(raw, rel);
      const size = metadataBlockSize(header, name, pos);
      if (rel + 2 + size > region) {
        throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', name, pos, `metadata block of ${size} bytes passes the table end ${end}`);
      }
      const out = decodeMetadataBlock(decompressor, header, raw.subarray(rel + 2, rel + 2 + size), name, pos);
      diskStarts.push(rel);
      memStarts.push(total);
      total += out.length;
      if (total > maxBytes) {
        throw new SquashfsError('UAI_SQFS_LIMIT', name, pos, `decompresses to more than ${maxBytes} bytes (limits.maxMetadataBytes)`);
      }
      if (kept !== undefined) {
        if (total > keepDecoded) {
          kept = undefined; // past the budget after all: this table decodes its blocks when they are read
        } else {
          if (total > kept.length) kept = grown(kept, total - out.length, Math.min(keepDecoded, Math.max(total, 2 * kept.length)));
          kept.set(out, total - out.length);
        }
      }
      rel += 2 + size;
    }
    diskStarts.push(region);
    memStarts.push(total);
    const whole = kept === undefined || kept.length === total ? kept : kept.slice(0, total);
    return new MetadataTable(name, start, end, raw, decompressor, diskStarts, memStarts, whole);
  }

  /** Decoded bytes this table keeps whole (0 when it decodes blocks as they are read). */
  get keptBytes(): number {
    return this.#whole ? this.length : 0;
  }

  /** The position of reference `(block, offset)`; both are validated. */
  resolve(block: number, offset: number, what: Describe): number {
    const index = this.#blocks.get(block);
    if (index === undefined) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', this.name, this.start + block, `${describe(what)}: no metadata block starts at table offset ${block}`, {
        details: { block, offset },
      });
    }
    const base = this.#memStarts[index]!;
    if (offset >= METADATA_SIZE || base + offset >= this.length) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', this.name, this.start + block, `${describe(what)}: offset ${offset} is outside the block`, {
        details: { block, offset },
      });
    }
    return base + offset;
  }

  /** Throws unless `length` bytes at `pos` are inside the table. */
  need(pos: number, length: number, what: Describe): void {
    if (pos + length > this.length) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', this.name, this.imageOffset(pos), `${describe(what)}: ${length} bytes at uncompressed offset ${pos} pass the table end (${this.length} bytes)`, {
        details: { position: pos, length },
      });
    }
  }

  /** Bytes left in the table after `pos`. */
  remaining(pos: number): number {
    return this.length - pos;
  }

  /**
   * Makes `bytes` and `view` hold the decoded run `[pos, pos + length)` and returns where
   * it starts in them: the whole table when it is kept decoded, a cached block when the
   * run lies in one (no copy, nothing allocated), else a copy joined from the blocks it
   * spans. Earlier `bytes`/`view` stay valid (nothing is ever overwritten), they are just
   * no longer the table's. Throws like `need` when the run passes the table end. Seek
   * first, then read `view`:
   * `table.view.getUint32(table.seek(…))` reads the view from before the seek.
   */
  seek(pos: number, length: number, what: Describe): number {
    this.need(pos, length, what);
    if (length === 0) {
      this.bytes = EMPTY;
      this.view = EMPTY_VIEW;
      return 0;
    }
    if (this.#whole) {
      this.bytes = this.#whole.bytes;
      this.view = this.#whole.view;
      return pos;
    }
    let index = this.#indexOf(pos);
    let block = this.#block(index);
    let offset = pos - this.#memStarts[index]!;
    this.bytes = block.bytes;
    this.view = block.view;
    if (offset + length <= block.bytes.length) return offset;
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = Math.min(length - done, block.bytes.length - offset);
      out.set(block.bytes.subarray(offset, offset + n), done);
      done += n;
      if (done < length) {
        block = this.#block(++index);
        offset = 0;
      }
    }
    this.bytes = out;
    this.view = new DataView(out.buffer);
    return 0;
  }

  /** The decoded run `[pos, pos + length)` on its own (a view; do not modify). */
  bytesAt(pos: number, length: number, what: Describe): Uint8Array {
    const at = this.seek(pos, length, what);
    return this.bytes.subarray(at, at + length);
  }

  /** The image offset of the metadata block holding `pos` (for messages). */
  imageOffset(pos: number): number {
    if (this.#memStarts.length < 2) return this.start;
    return this.start + this.#diskStarts[this.#indexOf(Math.min(pos, this.length - 1))]!;
  }

  /** Index of the block holding position `pos` (0 ≤ pos < length). */
  #indexOf(pos: number): number {
    const starts = this.#memStarts;
    const last = this.#lastIndex;
    if (last >= 0 && starts[last]! <= pos && pos < starts[last + 1]!) return last;
    // Every block but the last decodes to 8192 bytes in the images mksquashfs writes.
    const guess = Math.floor(pos / METADATA_SIZE);
    if (guess < starts.length - 1 && starts[guess]! <= pos && pos < starts[guess + 1]!) return guess;
    let lo = 0;
    let hi = starts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Block `index` decoded, from the cache or decoded again. */
  #block(index: number): Block {
    if (index === this.#lastIndex) return this.#last;
    let block = this.#cache.get(index);
    if (block) {
      this.#cache.delete(index);
    } else {
      const rel = this.#diskStarts[index]!;
      const header = headerAt(this.#raw, rel);
      const pos = this.start + rel;
      const bytes = decodeMetadataBlock(this.#decompressor, header, this.#raw.subarray(rel + 2, this.#diskStarts[index + 1]!), this.name, pos);
      const expected = this.#memStarts[index + 1]! - this.#memStarts[index]!;
      if (bytes.length !== expected) {
        throw new SquashfsError('UAI_SQFS_CORRUPTED', this.name, pos, `metadata block decoded to ${bytes.length} bytes, not the ${expected} it gave when the table was loaded`);
      }
      block = blockOf(bytes);
      if (this.#cache.size >= CACHE_BLOCKS) this.#cache.delete(this.#cache.keys().next().value!);
    }
    this.#cache.set(index, block);
    this.#lastIndex = index;
    this.#last = block;
    return block;
  }
}

/** `bytes` with its first `used` bytes in a new buffer of `size` bytes. */
function grown(bytes: Uint8Array, used: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(bytes.subarray(0, used));
  return out;
}

/**
 * A decoded block as the table holds it: a plain Uint8Array whatever the codec returned (a
 * Buffer from node:zlib), so the fields that hold it see one class, which keeps V8's
 * property accesses monomorphic.
 */
function blockOf(bytes: Uint8Array): Block {
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}
