/**
 * The reader against every committed fixture (fixtures/images/MANIFEST): each entry's
 * metadata must match `unsquashfs -lln` (the reference tool), and metadata, xattrs and the
 * sha256 of every file's content must match the expected listing of the source tree that
 * fixtures/tree.py wrote while building it (lstat, readlink, getxattr on the real tree).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSource } from '../../src/source/index.ts';
import { SquashfsImage, type Entry } from '../../src/squashfs/index.ts';
import { stopDecoderWorkers } from '../../src/squashfs/compression/index.ts';
import { IMAGES_DIR, fixtures, unsquashfsLln, type FixtureInfo, type LlnEntry } from '../support/fixtures.ts';

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

export function expectedListing(file: string): Map<string, Expected> {
  const lines = readFileSync(`${IMAGES_DIR}/${file}`, 'utf8').split('\n').filter(Boolean);
  return new Map(lines.map((l) => JSON.parse(l) as Expected).map((e) => [e.pathHex, e]));
}

const TYPE_CHAR: Record<Entry['type'], string> = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p', socket: 's' };

/** `rwsr-xr-x` from permission bits, as ls and unsquashfs print them. */
export function perms(mode: number): string {
  const rwx = (bits: number, special: boolean, ch: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return rwx(mode >> 6, (mode & 0o4000) !== 0, 's') + rwx(mode >> 3, (mode & 0o2000) !== 0, 's') + rwx(mode, (mode & 0o1000) !== 0, 't');
}

function utcMinute(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
}

/** The listing key of an entry: its raw path bytes, as latin1 (how the -lln output is read). */
function latin1Path(e: Entry): string {
  return `/${Buffer.from(e.rawPath).toString('latin1')}`.replace(/^\/$/, '/');
}

interface Read {
  entries: Entry[];
  sha256: Map<string, string>;
}

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

function compareWithLln(entries: Entry[], lln: LlnEntry[]): void {
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

function compareWithTree(fx: FixtureInfo, read: Read, expected: Map<string, Expected>): void {
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
    if (e.type !== 'dir') expect(e.nlink, where).toBe(x!.nlink);
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

function hardLinkGroups(entries: Entry[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const e of entries) if (e.type !== 'dir') groups.set(e.inodeRef, [...(groups.get(e.inodeRef) ?? []), e.path]);
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort());
}

afterAll(async () => {
  await stopDecoderWorkers();
});

describe.each(fixtures())('$name', (fx) => {
  const listingFile = fx.name.startsWith('uai-rootfs') ? 'uai-rootfs.expected.jsonl' : 'tree.expected.jsonl';

  it('is the image the MANIFEST names', () => {
    expect(createHash('sha256').update(readFileSync(fx.path)).digest('hex')).toBe(fx.sha256);
  });

  it('matches unsquashfs -lln and the source tree, content included', async () => {
    const read = await readAll(fx.path);
    compareWithLln(read.entries, unsquashfsLln(fx.path));
    compareWithTree(fx, read, expectedListing(listingFile));
    if (listingFile === 'tree.expected.jsonl') {
      expect(hardLinkGroups(read.entries)).toEqual(
        expect.arrayContaining([
          ['/data/hardlink-a', '/data/hardlink-b', '/data/sizes/hardlink-c'],
          ['/data/hardlink-to-symlink', '/data/symlink-to-a'],
          ['/dev/fifo', '/dev/fifo-hardlink'],
        ]),
      );
      // Same content, different inodes: deduplicated data is not a hard link.
      const dup = read.entries.filter((e) => e.path === '/data/random-6k' || e.path === '/data/duplicate-of-random');
      expect(new Set(dup.map((e) => e.inodeRef)).size).toBe(2);
    }
  });
});
