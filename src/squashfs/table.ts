/**
 * The generic lookup-table loader (ID, fragment, export, xattr-id tables): a list of
 * u64 block locations at `listStart`, each pointing at a metadata block holding 8192
 * bytes of packed entries (the last holding the rest). Everything is bounded before it
 * is allocated: the list by `upper`, each block by `[lower, listStart)`.
 */
import type { ByteSource } from '../source/byte-source.ts';
import type { Decompressor } from './compression/decompressor.ts';
import { throwIfAborted } from '../errors.ts';
import { SquashfsError } from './errors.ts';
import { decodeMetadataBlock, metadataBlockSize } from './meta-reader.ts';
import { METADATA_SIZE } from './superblock.ts';
import { readU64, viewOf } from './binary.ts';

export interface LookupTableSpec {
  /** A name for messages: `id table`, `fragment table`. */
  name: string;
  /** Absolute offset of the u64 location list. */
  listStart: number;
  /** Number of entries. */
  count: number;
  /** Bytes per entry. */
  entrySize: number;
  /** The metadata blocks must start at or after this offset. */
  lower: number;
  /** The location list must end at or before this offset. */
  upper: number;
  signal?: AbortSignal;
}

export interface LookupTable {
  /** `count * entrySize` bytes of entries. */
  bytes: Uint8Array;
  /** Absolute offsets of the metadata blocks. */
  locations: number[];
}

/** Reads just the first block location of a list (to bound the table before it). */
export async function firstLocation(source: ByteSource, name: string, listStart: number, upper: number, signal?: AbortSignal): Promise<number> {
  if (listStart + 8 > upper) throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', name, listStart, `location list passes ${upper}`);
  const raw = await source.read(listStart, 8, { signal });
  return readU64(viewOf(raw), 0, name, listStart, 'block location');
}

export async function loadLookupTable(source: ByteSource, decompressor: Decompressor, spec: LookupTableSpec): Promise<LookupTable> {
  const { name, listStart, count, entrySize, lower, upper, signal } = spec;
  const total = count * entrySize;
  const blocks = Math.ceil(total / METADATA_SIZE);
  if (blocks === 0) return { bytes: new Uint8Array(0), locations: [] };
  if (listStart + blocks * 8 > upper) {
    throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', name, listStart, `${count} entries need ${blocks} block locations, which pass offset ${upper}`, {
      details: { count, blocks, upper },
    });
  }
  const listView = viewOf(await source.read(listStart, blocks * 8, { signal }));
  const locations: number[] = [];
  for (let i = 0; i < blocks; i++) {
    const at = readU64(listView, i * 8, name, listStart + i * 8, 'block location');
    if (at < lower || at + 2 > listStart) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', name, listStart + i * 8, `block ${i} location ${at} is outside [${lower}, ${listStart})`);
    }
    locations.push(at);
  }
  const first = Math.min(...locations);
  const span = Math.min(listStart - first, blocks * (METADATA_SIZE + 2));
  const raw = await source.read(first, span, { signal });
  const rawView = viewOf(raw);
  const bytes = new Uint8Array(total);
  for (let i = 0; i < blocks; i++) {
    throwIfAborted(signal);
    const at = locations[i]!;
    const rel = at - first;
    if (rel + 2 > span) throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', name, at, `block ${i} is outside the table`);
    const header = rawView.getUint16(rel, true);
    const size = metadataBlockSize(header, name, at);
    if (rel + 2 + size > span) throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', name, at, `block ${i} of ${size} bytes passes the location list at ${listStart}`);
    const out = decodeMetadataBlock(decompressor, header, raw.subarray(rel + 2, rel + 2 + size), name, at);
    const expected = i < blocks - 1 ? METADATA_SIZE : total - i * METADATA_SIZE;
    if (out.length !== expected) {
      throw new SquashfsError('UAI_SQFS_CORRUPTED', name, at, `block ${i} holds ${out.length} bytes, expected ${expected}`);
    }
    bytes.set(out, i * METADATA_SIZE);
  }
  return { bytes, locations };
}
