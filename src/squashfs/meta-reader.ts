/**
 * Metadata blocks: a u16 header (bit 15 = stored uncompressed, low 15 bits = on-disk
 * size ≤ 8192) and at most 8192 bytes of payload. `MetadataTable.load` decompresses a
 * whole region (the inode table, the directory table, the xattr key/value area) once
 * into one buffer with a map from on-disk block start to uncompressed offset, so
 * references resolve to a position and entries that cross blocks read as one run.
 */
import type { ByteSource } from '../source/byte-source.ts';
import type { Decompressor } from './compression/decompressor.ts';
import { throwIfAborted } from '../errors.ts';
import { SquashfsError } from './errors.ts';
import { METADATA_SIZE } from './superblock.ts';
import { viewOf } from './binary.ts';

const READ_WINDOW = 4 * 1024 * 1024;

/** Decompresses one metadata block whose header is `header`; `payload` is its on-disk bytes. */
/** What is being read, for error messages: a function when building the text would cost on the hot path. */
export type Describe = string | (() => string);

export function describe(what: Describe): string {
  return typeof what === 'string' ? what : what();
}

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

export interface MetadataTableOptions {
  /** A name for messages: `inode table`, `directory table`, `xattr table`. */
  name: string;
  /** Absolute image offset of the first block. */
  start: number;
  /** Absolute image offset the blocks must end at (exclusive). */
  end: number;
  /** Most decompressed bytes (UAI_SQFS_LIMIT past it). */
  maxBytes: number;
  signal?: AbortSignal;
}

export class MetadataTable {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  /** Every block's payload, decompressed and concatenated. */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** On-disk block start (relative to `start`) → offset in `bytes`. */
  readonly #blocks: Map<number, number>;
  /** Sorted parallel arrays for turning a position back into an image offset. */
  readonly #diskStarts: number[];
  readonly #memStarts: number[];

  private constructor(name: string, start: number, end: number, bytes: Uint8Array, diskStarts: number[], memStarts: number[]) {
    this.name = name;
    this.start = start;
    this.end = end;
    this.bytes = bytes;
    this.view = viewOf(bytes);
    this.#diskStarts = diskStarts;
    this.#memStarts = memStarts;
    this.#blocks = new Map();
    for (let i = 0; i < diskStarts.length; i++) this.#blocks.set(diskStarts[i]!, memStarts[i]!);
  }

  static async load(source: ByteSource, decompressor: Decompressor, options: MetadataTableOptions): Promise<MetadataTable> {
    const { name, start, end, signal, maxBytes } = options;
    const chunks: Uint8Array[] = [];
    const diskStarts: number[] = [];
    const memStarts: number[] = [];
    let total = 0;
    let pos = start;
    let window: Uint8Array = new Uint8Array(0);
    let windowStart = start;
    while (pos < end) {
      throwIfAborted(signal);
      // Make sure the header and the whole block are inside the window.
      const need = async (length: number): Promise<void> => {
        if (pos + length <= windowStart + window.length) return;
        const length2 = Math.min(end - pos, Math.max(length, READ_WINDOW));
        window = await source.read(pos, length2, { signal });
        windowStart = pos;
      };
      if (pos + 2 > end) throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', name, pos, `metadata block header passes the table end ${end}`);
      await need(2);
      const header = window[pos - windowStart]! | (window[pos - windowStart + 1]! << 8);
      const size = metadataBlockSize(header, name, pos);
      if (pos + 2 + size > end) {
        throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', name, pos, `metadata block of ${size} bytes passes the table end ${end}`);
      }
      await need(2 + size);
      const payload = window.subarray(pos + 2 - windowStart, pos + 2 + size - windowStart);
      const out = decodeMetadataBlock(decompressor, header, payload, name, pos);
      diskStarts.push(pos - start);
      memStarts.push(total);
      chunks.push(out);
      total += out.length;
      if (total > maxBytes) {
        throw new SquashfsError('UAI_SQFS_LIMIT', name, pos, `decompresses to more than ${maxBytes} bytes (limits.maxMetadataBytes)`);
      }
      pos += 2 + size;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return new MetadataTable(name, start, end, bytes, diskStarts, memStarts);
  }

  /** The position in `bytes` of reference `(block, offset)`; both are validated. */
  resolve(block: number, offset: number, what: Describe): number {
    const base = this.#blocks.get(block);
    if (base === undefined) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', this.name, this.start + block, `${describe(what)}: no metadata block starts at table offset ${block}`, {
        details: { block, offset },
      });
    }
    if (offset >= METADATA_SIZE || base + offset >= this.bytes.length) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', this.name, this.start + block, `${describe(what)}: offset ${offset} is outside the block`, {
        details: { block, offset },
      });
    }
    return base + offset;
  }

  /** Throws unless `length` bytes at `pos` are inside the table. */
  need(pos: number, length: number, what: Describe): void {
    if (pos + length > this.bytes.length) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', this.name, this.imageOffset(pos), `${describe(what)}: ${length} bytes at uncompressed offset ${pos} pass the table end (${this.bytes.length} bytes)`, {
        details: { position: pos, length },
      });
    }
  }

  /** Bytes left in the table after `pos`. */
  remaining(pos: number): number {
    return this.bytes.length - pos;
  }

  /** The image offset of the metadata block holding `pos` (for messages). */
  imageOffset(pos: number): number {
    let lo = 0;
    let hi = this.#memStarts.length - 1;
    if (hi < 0) return this.start;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#memStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return this.start + this.#diskStarts[lo]!;
  }
}
