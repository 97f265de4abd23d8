/**
 * The header encoder sums only the ranges it wrote (docs/performance.md): the stored
 * checksum must equal the ustar definition (all 512 bytes, the checksum field read as
 * spaces) for every shape of header, including ones written over a dirty buffer.
 */
import { describe, expect, it } from 'vitest';
import { BLOCK, TYPE_BLOCK, TYPE_DIR, TYPE_FILE, TYPE_SYMLINK, encodeTarHeader, type TarHeaderFields } from '../../src/layer/tar-header.ts';

const enc = new TextEncoder();

function definitionChecksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

function storedChecksum(block: Uint8Array): number {
  return parseInt(new TextDecoder().decode(block.subarray(148, 154)), 8);
}

function bytes(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

const base = { mode: 0o755, uid: 1000, gid: 1000, size: 0, mtime: 1_700_000_000 };
const cases: Array<[string, TarHeaderFields]> = [
  ['short file', { ...base, name: enc.encode('./etc/passwd'), typeflag: TYPE_FILE, size: 1234 }],
  ['root dir', { ...base, name: enc.encode('./'), typeflag: TYPE_DIR }],
  ['100-byte name', { ...base, name: bytes(100, 0x61), typeflag: TYPE_FILE }],
  ['prefix split', { ...base, name: enc.encode(`./${'p'.repeat(120)}/${'n'.repeat(90)}`), typeflag: TYPE_FILE }],
  ['name too long (PAX)', { ...base, name: enc.encode(`./${'q'.repeat(300)}`), typeflag: TYPE_FILE }],
  ['high bytes in name and link', { ...base, name: bytes(99, 0xff), typeflag: TYPE_SYMLINK, linkname: bytes(100, 0xfe) }],
  ['long link (PAX)', { ...base, name: enc.encode('./l'), typeflag: TYPE_SYMLINK, linkname: bytes(250, 0x7a) }],
  ['device', { ...base, name: enc.encode('./dev/sda'), typeflag: TYPE_BLOCK, devmajor: 8, devminor: 0o7777777 }],
  ['big ids (PAX)', { ...base, name: enc.encode('./x'), typeflag: TYPE_FILE, uid: 3_000_000, gid: 2 ** 32 - 2, size: 2 ** 34 }],
];

describe('tar header checksum', () => {
  for (const [label, fields] of cases) {
    it(`matches the ustar definition: ${label}`, () => {
      const clean = new Uint8Array(BLOCK);
      encodeTarHeader(fields, clean, 0);
      expect(storedChecksum(clean)).toBe(definitionChecksum(clean));
      // Written at an offset into a buffer full of junk: the same block, the same checksum.
      const dirty = new Uint8Array(3 * BLOCK).fill(0xa5);
      encodeTarHeader(fields, dirty, BLOCK);
      expect(dirty.subarray(BLOCK, 2 * BLOCK)).toEqual(clean);
      expect(dirty[BLOCK - 1]).toBe(0xa5);
      expect(dirty[2 * BLOCK]).toBe(0xa5);
    });
  }
});
