/**
 * A byte-exact tar reader for the tests: ustar, GNU (`ustar  `, L/K long names, base-256
 * numbers, as sqfs2tar writes) and PAX (`x` records with binary values). tar-stream
 * decodes PAX values as UTF-8, which would hide a broken binary xattr, so the set
 * comparisons use this; tar-stream itself is used as an independent cross-check.
 */
import { createHash } from 'node:crypto';

export interface TarEntry {
  /** Path as a latin1 string of its bytes, `./` and a trailing `/` removed ('' for the root). */
  path: string;
  /** The raw archive name bytes as written (after PAX/GNU long-name resolution), latin1. */
  rawName: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  sha256: string;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** xattr name → hex of the value. */
  xattrs: Record<string, string>;
  /** Raw PAX records seen for this entry (key → latin1 value). */
  pax: Record<string, string>;
  /** Offset of the header in the archive. */
  offset: number;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

function cstr(b: Uint8Array): Uint8Array {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}

function num(b: Uint8Array): number {
  if (b[0]! & 0x80) {
    let v = b[0]! & 0x7f;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = latin1(cstr(b)).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

export function normalizePath(name: string): string {
  let p = name;
  while (p.startsWith('./')) p = p.slice(2);
  if (p === '.') p = '';
  while (p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

export function parsePax(body: Uint8Array): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const len = parseInt(latin1(body.subarray(at, space)), 10);
    if (!(len > 0)) throw new Error(`bad PAX record length at ${at}`);
    const rec = body.subarray(space + 1, at + len - 1);
    if (body[at + len - 1] !== 0x0a) throw new Error(`PAX record at ${at} does not end in a newline`);
    const eq = rec.indexOf(0x3d);
    out.push([Buffer.from(rec.subarray(0, eq)).toString('utf8'), rec.subarray(eq + 1)]);
    at += len;
  }
  return out;
}

/** Every entry of a tar, with PAX/GNU helper records applied, in archive order. */
export function parseTar(tar: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let pax: Array<[string, Uint8Array]> = [];
  let longName: Uint8Array | undefined;
  let longLink: Uint8Array | undefined;
  while (at + 512 <= tar.length) {
    const h = tar.subarray(at, at + 512);
    if (h.every((x) => x === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== num(h.subarray(148, 156))) throw new Error(`bad checksum at ${at}`);
    const type = String.fromCharCode(h[156]!);
    let size = num(h.subarray(124, 136));
    const paxSize = pax.find(([k]) => k === 'size');
    if (paxSize && type !== 'x') size = Number(latin1(paxSize[1]));
    const dataStart = at + 512;
    const data = tar.subarray(dataStart, dataStart + size);
    const next = dataStart + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      pax = parsePax(data);
      at = next;
      continue;
    }
    if (type === 'g') {
      at = next;
      continue;
    }
    if (type === 'L' || type === 'K') {
      if (type === 'L') longName = cstr(data);
      else longLink = cstr(data);
      at = next;
      continue;
    }
    const magic = latin1(h.subarray(257, 263));
    let name = cstr(h.subarray(0, 100));
    if (magic === 'ustar\0') {
      const prefix = cstr(h.subarray(345, 500));
      if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
    }
    let linkname = cstr(h.subarray(157, 257));
    const entry: TarEntry = {
      path: '',
      rawName: '',
      type,
      mode: num(h.subarray(100, 108)),
      uid: num(h.subarray(108, 116)),
      gid: num(h.subarray(116, 124)),
      mtime: num(h.subarray(136, 148)),
      size,
      sha256: createHash('sha256').update(data).digest('hex'),
      linkname: '',
      devmajor: type === '3' || type === '4' ? num(h.subarray(329, 337)) : 0,
      devminor: type === '3' || type === '4' ? num(h.subarray(337, 345)) : 0,
      xattrs: {},
      pax: {},
      offset: at,
    };
    if (longName) name = longName;
    if (longLink) linkname = longLink;
    for (const [k, v] of pax) {
      entry.pax[k] = latin1(v);
      if (k === 'path') name = v;
      else if (k === 'linkpath') linkname = v;
      else if (k === 'uid') entry.uid = Number(latin1(v));
      else if (k === 'gid') entry.gid = Number(latin1(v));
      else if (k === 'mtime') entry.mtime = Math.floor(Number(latin1(v)));
      else if (k.startsWith('SCHILY.xattr.')) entry.xattrs[k.slice(13)] = Buffer.from(v).toString('hex');
    }
    entry.rawName = latin1(name);
    entry.path = normalizePath(entry.rawName);
    entry.linkname = latin1(linkname);
    entries.push(entry);
    pax = [];
    longName = undefined;
    longLink = undefined;
    at = next;
  }
  return entries;
}

/** Concatenates an async byte stream. */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}
