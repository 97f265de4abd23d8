/**
 * Test helpers for SquashFS fixtures: where the committed images are, their MANIFEST,
 * the large images built on demand into fixtures/build/ (gitignored, cached between
 * runs), a tiny independent parser that pulls raw blocks out of an image (to test the
 * codecs without the reader), and a parser for `unsquashfs -lln` (the metadata
 * reference the reader is checked against).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { expect } from 'vitest';
import { FileSource } from '../../src/source/index.ts';
import { SquashfsImage, type Entry } from '../../src/squashfs/index.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES_DIR = join(ROOT, 'fixtures');
export const IMAGES_DIR = join(FIXTURES_DIR, 'images');
export const BUILD_DIR = join(FIXTURES_DIR, 'build');

export interface FixtureInfo {
  /** File name under fixtures/images/, e.g. `tree-gzip-128k.sqfs`. */
  name: string;
  compressor: string;
  /** The mksquashfs options used, as one string. */
  options: string;
  sha256: string;
  path: string;
}

/** Every committed image, from fixtures/images/MANIFEST (tab-separated: name compressor sha256 options). */
export function fixtures(): FixtureInfo[] {
  const text = readFileSync(join(IMAGES_DIR, 'MANIFEST'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const [name, compressor, sha256, options] = line.split('\t');
      return { name: name!, compressor: compressor!, sha256: sha256!, options: options ?? '', path: join(IMAGES_DIR, name!) };
    });
}

export function fixturePath(name: string): string {
  return join(IMAGES_DIR, name);
}

export type LargeFixtureName = 'sparse-5g' | 'many-entries';

/**
 * Builds (once, then cached) a large fixture with `fixtures/build.sh large <name>` and
 * returns its path. The script writes to a temporary name and renames, so an interrupted
 * build is never mistaken for a finished one.
 */
export function largeFixture(name: LargeFixtureName): string {
  const path = join(BUILD_DIR, `${name}.sqfs`);
  // The cache is keyed on the scripts that make it: a changed tree.py rebuilds.
  const stamp = join(BUILD_DIR, `${name}.stamp`);
  const scripts = createHash('sha256').update(readFileSync(join(FIXTURES_DIR, 'tree.py'))).update(readFileSync(join(FIXTURES_DIR, 'build.sh'))).digest('hex');
  const fresh = existsSync(path) && existsSync(stamp) && readFileSync(stamp, 'utf8') === scripts;
  if (!fresh) {
    rmSync(path, { force: true });
    mkdirSync(BUILD_DIR, { recursive: true });
    const r = spawnSync('bash', [join(FIXTURES_DIR, 'build.sh'), 'large', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`fixtures/build.sh large ${name} failed: ${r.stderr}`);
    if (!existsSync(path)) throw new Error(`fixtures/build.sh large ${name} did not write ${path}`);
    writeFileSync(stamp, scripts);
  }
  return path;
}

/** Builds a fresh image of `tree` with mksquashfs into `out` (tests that need one-off images). */
export function mksquashfs(tree: string, out: string, args: string[]): void {
  rmSync(out, { force: true });
  execFileSync('mksquashfs', [tree, `${out}.tmp`, '-noappend', '-quiet', '-no-progress', '-processors', '1', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(`${out}.tmp`, out);
}

// ---- a tiny independent SquashFS parser, only what the codec tests need ----

export interface Superblock {
  inodes: number;
  blockSize: number;
  fragments: number;
  compression: number;
  flags: number;
  ids: number;
  rootInode: bigint;
  bytesUsed: number;
  idTableStart: number;
  xattrTableStart: number;
  inodeTableStart: number;
  directoryTableStart: number;
  fragmentTableStart: number;
  lookupTableStart: number;
}

const NONE = 0xffffffffffffffffn;

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  return v === NONE ? -1 : Number(v);
}

export function parseSuperblock(image: Uint8Array): Superblock {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (v.getUint32(0, true) !== 0x73717368) throw new Error('not a squashfs image');
  return {
    inodes: v.getUint32(4, true),
    blockSize: v.getUint32(12, true),
    fragments: v.getUint32(16, true),
    compression: v.getUint16(20, true),
    flags: v.getUint16(24, true),
    ids: v.getUint16(26, true),
    rootInode: v.getBigUint64(32, true),
    bytesUsed: u64(v, 40),
    idTableStart: u64(v, 48),
    xattrTableStart: u64(v, 56),
    inodeTableStart: u64(v, 64),
    directoryTableStart: u64(v, 72),
    fragmentTableStart: u64(v, 80),
    lookupTableStart: u64(v, 88),
  };
}

/** The compressor-options payload, if the image has one. */
export function compressorOptionsBytes(image: Uint8Array): Uint8Array | undefined {
  const sb = parseSuperblock(image);
  if ((sb.flags & 0x0400) === 0) return undefined;
  const header = image[96]! | (image[97]! << 8);
  return image.subarray(98, 98 + (header & 0x7fff));
}

export interface RawBlock {
  /** Where the block's bytes start in the image. */
  offset: number;
  /** The bytes as stored (compressed unless `stored`). */
  data: Uint8Array;
  /** Stored uncompressed: not for a decoder. */
  stored: boolean;
  /** The exact decompressed length, when the format fixes it (metadata blocks but a table's last, full data blocks). */
  exactLength?: number;
  /** The decompressed length may not pass this. */
  maxLength: number;
  kind: 'metadata' | 'fragment' | 'data';
}

/** The metadata blocks of [start, end), in order. */
function metadataRun(image: Uint8Array, start: number, end: number): RawBlock[] {
  const out: RawBlock[] = [];
  let pos = start;
  while (pos < end) {
    const header = image[pos]! | (image[pos + 1]! << 8);
    const size = header & 0x7fff;
    out.push({ offset: pos + 2, data: image.subarray(pos + 2, pos + 2 + size), stored: (header & 0x8000) !== 0, maxLength: 8192, exactLength: 8192, kind: 'metadata' });
    pos += 2 + size;
  }
  const last = out.at(-1);
  if (last) delete last.exactLength;
  return out;
}

/** The first u64 of a location list (the table's first metadata block), or -1. */
function firstLocation(image: Uint8Array, listStart: number): number {
  if (listStart < 0 || listStart + 8 > image.length) return -1;
  return u64(new DataView(image.buffer, image.byteOffset, image.byteLength), listStart);
}

/** Every metadata block of the inode and directory tables. */
export function metadataBlocks(image: Uint8Array): RawBlock[] {
  const sb = parseSuperblock(image);
  const ends = [sb.fragments > 0 ? firstLocation(image, sb.fragmentTableStart) : -1, firstLocation(image, sb.lookupTableStart), firstLocation(image, sb.idTableStart)].filter((x) => x > 0);
  const dirEnd = Math.min(...ends);
  return [...metadataRun(image, sb.inodeTableStart, sb.directoryTableStart), ...metadataRun(image, sb.directoryTableStart, dirEnd)];
}

/** The decoded inode and directory tables of a gzip image (each the concatenation of its blocks). */
export function decodedTables(image: Uint8Array): { inodes: Buffer; directories: Buffer } {
  const sb = parseSuperblock(image);
  const blocks = metadataBlocks(image);
  const decode = (list: RawBlock[]) => Buffer.concat(list.map((b) => (b.stored ? b.data : inflateSync(b.data))));
  return { inodes: decode(blocks.filter((b) => b.offset < sb.directoryTableStart)), directories: decode(blocks.filter((b) => b.offset >= sb.directoryTableStart)) };
}

/** Every fragment block, decoding the fragment table's metadata with `decodeMeta`. */
export function fragmentBlocks(image: Uint8Array, decodeMeta: (block: RawBlock) => Uint8Array): RawBlock[] {
  const sb = parseSuperblock(image);
  if (sb.fragments === 0) return [];
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const listBlocks = Math.ceil((sb.fragments * 16) / 8192);
  const entries: Uint8Array[] = [];
  for (let i = 0; i < listBlocks; i++) {
    const at = u64(view, sb.fragmentTableStart + 8 * i);
    const [block] = metadataRun(image, at, at + 1);
    entries.push(block!.stored ? block!.data : decodeMeta(block!));
  }
  const table = Buffer.concat(entries);
  const tv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const out: RawBlock[] = [];
  for (let i = 0; i < sb.fragments; i++) {
    const start = Number(tv.getBigUint64(i * 16, true));
    const word = tv.getUint32(i * 16 + 8, true);
    const size = word & 0xffffff;
    out.push({ offset: start, data: image.subarray(start, start + size), stored: (word & 0x1000000) !== 0, maxLength: sb.blockSize, kind: 'fragment' });
  }
  return out;
}

/**
 * The data blocks of the image's first inode, which must be a regular file: for images
 * made from a directory holding one file with -no-fragments. Returns each block with the
 * slice of the file it must decode to (sparse blocks are left out).
 */
export function singleFileBlocks(image: Uint8Array, decodeMeta: (block: RawBlock) => Uint8Array, content: Uint8Array): Array<RawBlock & { expected: Uint8Array }> {
  const sb = parseSuperblock(image);
  const [first] = metadataBlocks(image);
  const inode = first!.stored ? first!.data : decodeMeta(first!);
  const v = new DataView(inode.buffer, inode.byteOffset, inode.byteLength);
  const type = v.getUint16(0, true);
  let start: number;
  let size: number;
  let listAt: number;
  if (type === 2) {
    start = v.getUint32(16, true);
    size = v.getUint32(28, true);
    listAt = 32;
  } else if (type === 9) {
    start = Number(v.getBigUint64(16, true));
    size = Number(v.getBigUint64(24, true));
    listAt = 56;
  } else {
    throw new Error(`first inode has type ${type}, not a file`);
  }
  if (size !== content.length) throw new Error(`first inode is ${size} bytes, content is ${content.length}`);
  const out: Array<RawBlock & { expected: Uint8Array }> = [];
  let pos = start;
  const count = Math.ceil(size / sb.blockSize);
  for (let i = 0; i < count; i++) {
    const word = v.getUint32(listAt + 4 * i, true);
    const onDisk = word & 0xffffff;
    const expected = content.subarray(i * sb.blockSize, Math.min(size, (i + 1) * sb.blockSize));
    if (onDisk !== 0) {
      out.push({ offset: pos, data: image.subarray(pos, pos + onDisk), stored: (word & 0x1000000) !== 0, maxLength: sb.blockSize, exactLength: expected.length, kind: 'data', expected });
    }
    pos += onDisk;
  }
  return out;
}

// ---- unsquashfs -lln ----

export interface LlnEntry {
  /** `d`, `-`, `l`, `c`, `b`, `p`, `s`. */
  typeChar: string;
  /** Permission string as printed, e.g. `rwxr-xr-x` (incl. s/t bits). */
  perms: string;
  uid: number;
  gid: number;
  /** File size, symlink target length; undefined for devices. */
  size?: number;
  major?: number;
  minor?: number;
  /** `YYYY-MM-DD HH:MM` as unsquashfs prints it (local time; run with TZ=UTC). */
  time: string;
  /** Path under the root, `/`-rooted, raw bytes kept as latin1 (`squashfs-root` prefix removed). */
  path: string;
  target?: string;
}

/**
 * Runs `unsquashfs -lln` (numeric ids, full paths) on an image and parses its listing.
 * Output is read as latin1 so non-UTF-8 bytes survive 1:1. Names containing " -> " are
 * ambiguous for symlinks and are not used by the fixtures.
 */
export function unsquashfsLln(image: string): LlnEntry[] {
  const text = execFileSync('unsquashfs', ['-lln', '-d', '', image], { env: { ...process.env, TZ: 'UTC' }, maxBuffer: 256 << 20 }).toString('latin1');
  const out: LlnEntry[] = [];
  const re = /^([-dlcbps])([-rwxsStT]{9}) (\d+)\/(\d+)\s+(?:(\d+)|(-?\d+),\s*(\d+)) (\d{4}-\d\d-\d\d \d\d:\d\d) (.*)$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const e: LlnEntry = { typeChar: m[1]!, perms: m[2]!, uid: Number(m[3]), gid: Number(m[4]), time: m[8]!, path: m[9]! };
    if (m[5] !== undefined) e.size = Number(m[5]);
    else {
      e.major = Number(m[6]);
      e.minor = Number(m[7]);
    }
    if (e.typeChar === 'l') {
      const at = e.path.indexOf(' -> ');
      e.target = e.path.slice(at + 4);
      e.path = e.path.slice(0, at);
    }
    if (e.path === '') e.path = '/';
    out.push(e);
  }
  return out;
}

// ---- comparing the reader with the references ----

export interface Expected {
  path: string;
  pathHex: string;
  type: Entry['type'];
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  nlink: number;
  size?: number;
  sha256?: string;
  targetHex?: string;
  major?: number;
  minor?: number;
  xattrs: Record<string, string>;
}

/** An expected listing written by fixtures/tree.py, keyed by the hex of the path bytes. */
export function expectedListing(file: string): Map<string, Expected> {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return new Map(lines.map((l) => JSON.parse(l) as Expected).map((e) => [e.pathHex, e]));
}

export const TYPE_CHAR: Record<Entry['type'], string> = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p', socket: 's' };

/** `rwsr-xr-x` from permission bits, as ls and unsquashfs print them. */
export function perms(mode: number): string {
  const rwx = (bits: number, special: boolean, ch: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return rwx(mode >> 6, (mode & 0o4000) !== 0, 's') + rwx(mode >> 3, (mode & 0o2000) !== 0, 's') + rwx(mode, (mode & 0o1000) !== 0, 't');
}

export function utcMinute(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
}

/** The listing key of an entry: its raw path bytes, as latin1 (how the -lln output is read). */
export function latin1Path(e: Entry): string {
  return `/${Buffer.from(e.rawPath).toString('latin1')}`.replace(/^\/$/, '/');
}

export interface Read {
  entries: Entry[];
  sha256: Map<string, string>;
}

/** Opens an image, walks it with data and hashes every regular file. */
export async function readAll(path: string, options?: { maxOutputBytes?: number }): Promise<Read> {
  const image = await SquashfsImage.open(await FileSource.open(path), options?.maxOutputBytes ? { limits: { maxOutputBytes: options.maxOutputBytes } } : {});
  try {
    const entries: Entry[] = [];
    const sha256 = new Map<string, string>();
    for await (const item of image.walkWithData()) {
      entries.push(item.entry);
      if (item.data) {
        const h = createHash('sha256');
        for await (const chunk of item.data) h.update(chunk);
        sha256.set(Buffer.from(item.entry.rawPath).toString('hex'), h.digest('hex'));
      }
    }
    return { entries, sha256 };
  } finally {
    await image.close();
  }
}

/** Every entry's type, permissions, ids, mtime, size, target and device numbers agree with unsquashfs. */
export function compareWithLln(entries: Entry[], lln: LlnEntry[]): void {
  const byPath = new Map(lln.map((l) => [l.path, l]));
  expect(entries.map(latin1Path).sort()).toEqual([...byPath.keys()].sort());
  for (const e of entries) {
    const l = byPath.get(latin1Path(e))!;
    const where = `${e.path}`;
    expect(TYPE_CHAR[e.type], where).toBe(l.typeChar);
    expect(perms(e.mode), where).toBe(l.perms);
    expect([e.uid, e.gid], where).toEqual([l.uid, l.gid]);
    expect(utcMinute(e.mtime), where).toBe(l.time);
    if (e.type === 'file' || e.type === 'symlink') expect(e.size, where).toBe(l.size);
    if (e.type === 'symlink') expect(Buffer.from(e.target!).toString('latin1'), where).toBe(l.target);
    // unsquashfs 4.5.1 prints rdev 0xFFFFFFFF (4095, 1048575) as "-1,255": the source tree
    // listing checks those numbers instead.
    if ((e.type === 'char' || e.type === 'block') && l.major !== -1) expect([e.major, e.minor], where).toEqual([l.major, l.minor]);
  }
}

/** Entries equal the source tree's listing (excluding what `-e` left out), content by sha256. */
export function compareWithTree(fx: Pick<FixtureInfo, 'name' | 'options'>, read: Read, expected: Map<string, Expected>): void {
  // gensquashfs 1.2 (squashfs-tools-ng) does not detect hard links when packing a directory:
  // every name gets its own inode with nlink 1.
  const hardLinks = !fx.options.startsWith('gensquashfs');
  const noXattrs = fx.options.includes('-no-xattrs');
  const excluded = fx.options.match(/-e (.*)$/)?.[1]?.split(' ') ?? [];
  const seen = new Set<string>();
  for (const e of read.entries) {
    const key = Buffer.from(e.rawPath).toString('hex');
    const x = expected.get(key);
    expect(x, `${e.path} is not in the source tree`).toBeDefined();
    seen.add(key);
    const where = `${fx.name}: ${e.path}`;
    expect(e.path, where).toBe(x!.path);
    expect(e.type, where).toBe(x!.type);
    expect(e.mode, where).toBe(x!.mode);
    expect([e.uid, e.gid], where).toEqual([x!.uid, x!.gid]);
    expect(e.mtime, where).toBe(x!.mtime);
    if (e.type !== 'dir') expect(e.nlink, where).toBe(hardLinks ? x!.nlink : 1);
    if (e.type === 'file') {
      expect(e.size, where).toBe(x!.size);
      expect(read.sha256.get(key), where).toBe(x!.sha256);
    }
    if (e.type === 'symlink') expect(Buffer.from(e.target!).toString('hex'), where).toBe(x!.targetHex);
    if (e.type === 'char' || e.type === 'block') expect([e.major, e.minor], where).toEqual([x!.major, x!.minor]);
    const xattrs = Object.fromEntries([...e.xattrs].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
    expect(xattrs, where).toEqual(noXattrs ? {} : x!.xattrs);
  }
  const missing = [...expected.values()].filter((x) => !seen.has(x.pathHex)).map((x) => x.path.slice(1));
  expect(missing.sort(), fx.name).toEqual(excluded.sort());
}

/** Groups of paths (sorted) that share one non-directory inode. */
export function hardLinkGroups(entries: Entry[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const e of entries) if (e.type !== 'dir') groups.set(e.inodeRef, [...(groups.get(e.inodeRef) ?? []), e.path]);
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort());
}
