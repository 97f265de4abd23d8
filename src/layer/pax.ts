/**
 * PAX extended-header records, built as bytes (never via strings), so a path with
 * non-UTF-8 bytes or an xattr value with NULs survives byte for byte:
 * `"<length> <key>=<value>\n"`, where `<length>` counts the whole record, itself included.
 */
import { compareBytes } from './bytes.ts';
import { LayerError } from './errors.ts';

export type PaxRecord = readonly [key: string, value: Uint8Array];

const encoder = new TextEncoder();
const XATTR_PREFIX = 'SCHILY.xattr.';

/** The length of one record whose key and value have these byte lengths. */
export function paxRecordLength(keyBytes: number, valueBytes: number): number {
  const base = keyBytes + valueBytes + 3; // ' ', '=', '\n'
  let digits = String(base).length;
  while (String(base + digits).length !== digits) digits++;
  return base + digits;
}

/** Concatenates the records, in the order given, into one PAX header body. */
export function encodePaxRecords(records: ReadonlyArray<PaxRecord>): Uint8Array {
  const keys = records.map(([key]) => encoder.encode(key));
  let total = 0;
  const lengths = records.map(([, value], i) => {
    const length = paxRecordLength(keys[i]!.length, value.length);
    total += length;
    return length;
  });
  const out = new Uint8Array(total);
  let at = 0;
  records.forEach(([, value], i) => {
    const key = keys[i]!;
    at += encoder.encodeInto(`${lengths[i]!} `, out.subarray(at)).written;
    out.set(key, at);
    at += key.length;
    out[at++] = 0x3d; // '='
    out.set(value, at);
    at += value.length;
    out[at++] = 0x0a; // '\n'
  });
  return out;
}

/** A decimal number as the bytes of a PAX value (`uid`, `gid`, `size`). */
export function paxNumber(value: number): Uint8Array {
  return encoder.encode(String(value));
}

/**
 * `SCHILY.xattr.<name>` records (GNU tar `--xattrs`, Go archive/tar, containerd,
 * containers/storage all read them) with raw binary values, keys sorted by their UTF-8
 * bytes so the output does not depend on the on-disk order. A name with `=` or NUL
 * cannot be a PAX key: it throws `UAI_LAYER_UNREPRESENTABLE`.
 */
export function xattrRecords(xattrs: ReadonlyMap<string, Uint8Array>, path: string): PaxRecord[] {
  if (xattrs.size === 0) return [];
  const records: Array<{ key: string; bytes: Uint8Array; value: Uint8Array }> = [];
  for (const [name, value] of xattrs) {
    if (name.length === 0 || name.includes('=') || name.includes('\0')) {
      throw new LayerError('UAI_LAYER_UNREPRESENTABLE', `${path}: xattr name ${JSON.stringify(name)} cannot be stored in a PAX record`, {
        details: { path, xattr: name },
      });
    }
    const key = XATTR_PREFIX + name;
    records.push({ key, bytes: encoder.encode(key), value });
  }
  records.sort((a, b) => compareBytes(a.bytes, b.bytes));
  return records.map((r) => [r.key, r.value] as const);
}
