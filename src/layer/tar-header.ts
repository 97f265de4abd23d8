/**
 * The pure ustar header encoder: one 512-byte block from plain fields, no streams, no
 * allocation. `encodeTarHeader` says which fields did not fit (a bit mask) so the writer
 * can put a PAX extended header with exactly those records in front of it, the way
 * node-tar's `Header.encode` returns `needPax`.
 *
 * Format (POSIX ustar, as GNU tar `--format=posix` writes it): magic `ustar\0`, version
 * `00`, numbers as zero-padded octal with a NUL terminator, uname/gname empty.
 */

export const BLOCK = 512;

export const TYPE_FILE = 0x30; // '0'
export const TYPE_HARDLINK = 0x31; // '1'
export const TYPE_SYMLINK = 0x32; // '2'
export const TYPE_CHAR = 0x33; // '3'
export const TYPE_BLOCK = 0x34; // '4'
export const TYPE_DIR = 0x35; // '5'
export const TYPE_FIFO = 0x36; // '6'
export const TYPE_PAX = 0x78; // 'x'

/** Bits of what `encodeTarHeader` could not store: PAX records must carry them. */
export const NEED_PATH = 1;
export const NEED_LINKPATH = 2;
export const NEED_UID = 4;
export const NEED_GID = 8;
export const NEED_SIZE = 16;

/** Largest value of a 7-digit octal field (mode, uid, gid, devmajor, devminor). */
export const MAX_OCTAL_7 = 0o7777777;
/** Largest value of an 11-digit octal field (size, mtime): 8 GiB - 1. */
export const MAX_OCTAL_11 = 0o77777777777;

export interface TarHeaderFields {
  /** The full archive path, as bytes (`./etc/passwd`, `./etc/`). */
  readonly name: Uint8Array;
  /** A `TYPE_*` byte. */
  readonly typeflag: number;
  /** Permission bits (`& 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Data bytes that follow the header (0 for everything but files and PAX headers). */
  readonly size: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  /** Symlink target or hard-link target, as bytes. */
  readonly linkname?: Uint8Array | undefined;
  readonly devmajor?: number | undefined;
  readonly devminor?: number | undefined;
}

const MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30]; // "ustar\0" "00"
const MAGIC_SUM = MAGIC.reduce((a, b) => a + b, 0);

function byteSum(bytes: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += bytes[i]!;
  return sum;
}

/**
 * Where to cut a name that does not fit the 100-byte name field into prefix (≤ 155
 * bytes) + `/` + name (≤ 100 bytes, not empty): the index of that `/`, or -1 if the name
 * fits the name field alone, or -2 if no cut works (a PAX `path` record is needed).
 * Like GNU tar, it picks the first `/` that leaves the name part short enough, which
 * keeps the name part as long as possible.
 */
export function splitIndex(name: Uint8Array): number {
  const length = name.length;
  if (length <= 100) return -1;
  if (length > 256) return -2;
  const last = Math.min(155, length - 2);
  for (let i = Math.max(0, length - 101); i <= last; i++) {
    if (name[i] === 0x2f) return i;
  }
  return -2;
}

/** Writes `value` as `width - 1` zero-padded octal digits and a NUL. The caller checks the range. */
function writeOctal(out: Uint8Array, at: number, width: number, value: number): void {
  let v = value;
  out[at + width - 1] = 0;
  for (let i = width - 2; i >= 0; i--) {
    out[at + i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
}

/**
 * Fills `out[offset .. offset + 512)` with the header of `fields`. Fields that do not fit
 * are written as zero (uid, gid, size) or truncated (name, linkname) and reported in the
 * returned bit mask (`NEED_*`); 0 means the header is complete on its own.
 */
export function encodeTarHeader(fields: TarHeaderFields, out: Uint8Array, offset = 0): number {
  out.fill(0, offset, offset + BLOCK);
  let need = 0;

  const name = fields.name;
  const cut = splitIndex(name);
  if (cut === -1) {
    out.set(name, offset);
  } else if (cut >= 0) {
    out.set(name.subarray(0, cut), offset + 345);
    out.set(name.subarray(cut + 1), offset);
  } else {
    need |= NEED_PATH;
    out.set(name.subarray(0, 100), offset);
  }

  writeOctal(out, offset + 100, 8, fields.mode & 0o7777);
  if (fields.uid <= MAX_OCTAL_7) writeOctal(out, offset + 108, 8, fields.uid);
  else {
    need |= NEED_UID;
    writeOctal(out, offset + 108, 8, 0);
  }
  if (fields.gid <= MAX_OCTAL_7) writeOctal(out, offset + 116, 8, fields.gid);
  else {
    need |= NEED_GID;
    writeOctal(out, offset + 116, 8, 0);
  }
  if (fields.size <= MAX_OCTAL_11) writeOctal(out, offset + 124, 12, fields.size);
  else {
    need |= NEED_SIZE;
    writeOctal(out, offset + 124, 12, 0);
  }
  writeOctal(out, offset + 136, 12, Math.min(Math.max(0, fields.mtime), MAX_OCTAL_11));
  out[offset + 156] = fields.typeflag;

  const link = fields.linkname;
  if (link !== undefined) {
    if (link.length > 100) {
      need |= NEED_LINKPATH;
      out.set(link.subarray(0, 100), offset + 157);
    } else {
      out.set(link, offset + 157);
    }
  }

  for (let i = 0; i < 8; i++) out[offset + 257 + i] = MAGIC[i]!;
  // uname (265) and gname (297) stay empty: numeric ids are the truth in a layer.
  writeOctal(out, offset + 329, 8, fields.devmajor ?? 0);
  writeOctal(out, offset + 337, 8, fields.devminor ?? 0);

  // Checksum: the sum of all bytes with the checksum field read as eight spaces. Only
  // the ranges written above can be non-zero (the block was zeroed first): name, the
  // numeric fields, typeflag, linkname, magic, devices, prefix.
  let sum = 8 * 0x20 + MAGIC_SUM;
  sum += byteSum(out, offset, offset + 148);
  sum += byteSum(out, offset + 156, offset + 157 + (link === undefined ? 0 : Math.min(100, link.length)));
  sum += byteSum(out, offset + 329, offset + 345 + (cut >= 0 ? cut : 0));
  writeOctal(out, offset + 148, 7, sum);
  out[offset + 155] = 0x20;
  return need;
}
