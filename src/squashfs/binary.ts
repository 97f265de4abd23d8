/**
 * Little-endian field readers shared by every table decoder. 64-bit values are read as
 * `lo + hi * 2^32` (no BigInt in hot paths) and refused when they exceed 2^53.
 */
import { SquashfsError } from './errors.ts';

const TWO32 = 0x1_0000_0000;

/** A u64 as a safe integer; throws UAI_SQFS_OVERFLOW when it does not fit in 53 bits. */
export function readU64(view: DataView, pos: number, table: string, offset: number | undefined, field: string): number {
  const lo = view.getUint32(pos, true);
  const hi = view.getUint32(pos + 4, true);
  if (hi >= 0x20_0000) {
    throw new SquashfsError('UAI_SQFS_OVERFLOW', table, offset, `${field} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} does not fit in 53 bits`, {
      details: { field },
    });
  }
  return hi * TWO32 + lo;
}

/** True when the u64 at `pos` is 0xFFFFFFFFFFFFFFFF (the "table absent" sentinel). */
export function isAllOnes64(view: DataView, pos: number): boolean {
  return view.getUint32(pos, true) === 0xffff_ffff && view.getUint32(pos + 4, true) === 0xffff_ffff;
}

/** A metadata reference `(block << 16) | offset` read from a u64, as a safe integer. */
export function readRef(view: DataView, pos: number, table: string, offset: number | undefined, field: string): number {
  const lo = view.getUint32(pos, true);
  const hi = view.getUint32(pos + 4, true);
  if (hi > 0xffff) {
    throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', table, offset, `${field} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} has bits above 48 set`, {
      details: { field },
    });
  }
  return hi * TWO32 + lo;
}

/** The block part of a reference (relative to its table). */
export function refBlock(ref: number): number {
  return Math.floor(ref / 0x1_0000);
}

/** The offset part of a reference (into the uncompressed block). */
export function refOffset(ref: number): number {
  return ref % 0x1_0000;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Bytes → string, non-UTF-8 sequences replaced by U+FFFD. */
export function decodeName(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** Formats a byte string for messages: printable ASCII kept, the rest escaped. */
export function showName(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes.subarray(0, 300)) {
    out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return JSON.stringify(out);
}
