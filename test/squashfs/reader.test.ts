/**
 * The SquashFS reader against real mksquashfs images of a tree that has every inode
 * type, hard links, xattrs (binary values, security.capability), > 256 entries in a
 * directory, sparse files, big uids, extreme mtimes and a non-UTF-8 name. Every entry is
 * compared with the source tree (lstat, readlink, getfattr, sha256 of the content) and
 * with `unsquashfs -lln`, for several block sizes, fragment modes and compressors.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chownSync,
  closeSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  linkSync,
  writeFileSync,
  writeSync,
  ftruncateSync,
  chmodSync,
  utimesSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, MemorySource } from '../../src/source/index.ts';
import { SquashfsImage, SquashfsError, type Entry } from '../../src/squashfs/index.ts';
import { modeString } from '../../src/cli/commands/ls.ts';
import { stopDecoderWorkers } from '../../src/squashfs/compression/index.ts';

let tmp: string;
let tree: string;

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

function noise(length: number, seed: number): Buffer {
  const next = seeded(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) out.writeUInt32LE(next(), Math.min(i, length - 4));
  return out;
}

const NON_UTF8 = Buffer.from([0x6e, 0xff, 0xfe, 0x6e]);

function buildTree(root: string): void {
  mkdirSync(root);
  const f = (rel: string, data: string | Buffer) => writeFileSync(join(root, rel), data);
  f('empty', '');
  f('one', 'x');
  f('exact4k', noise(4096, 1));
  f('multi', noise(300_000, 2));
  f('compressible', 'abcdefgh'.repeat(40_000));
  f('mib-plus', noise(1024 * 1024 + 17, 3));
  f('exact-mib', noise(1024 * 1024, 4));
  // Sparse: holes in the middle and at the end; a block-aligned hole at the start.
  const sparse = openSync(join(root, 'sparse'), 'w');
  ftruncateSync(sparse, 3 * 1024 * 1024 + 100);
  writeSync(sparse, Buffer.from('middle'), 0, 6, 1_500_000);
  closeSync(sparse);
  const sparseTail = openSync(join(root, 'sparse-tail'), 'w');
  writeSync(sparseTail, noise(5000, 5), 0, 5000, 0);
  ftruncateSync(sparseTail, 2 * 1024 * 1024 + 3);
  closeSync(sparseTail);
  mkdirSync(join(root, 'sub'));
  f('hl-a', 'hard linked content\n');
  linkSync(join(root, 'hl-a'), join(root, 'sub', 'hl-b'));
  symlinkSync('one', join(root, 'rel'));
  symlinkSync('/etc/passwd', join(root, 'abs'));
  symlinkSync('../../../../sub', join(root, 'escape'));
  symlinkSync('sub', join(root, 'linkdir'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  symlinkSync('t'.repeat(3000), join(root, 'longtarget'));
  linkSync(join(root, 'rel'), join(root, 'rel-hardlink'));
  run('mknod', [join(root, 'tty'), 'c', '4', '64']);
  run('mknod', [join(root, 'bigdev'), 'c', '4000', '1000000']);
  run('mknod', [join(root, 'disk'), 'b', '8', '1']);
  run('mkfifo', [join(root, 'fifo')]);
  run('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', join(root, 'sock')]);
  // Basic and extended (xattr-carrying) inodes of every special type.
  run('mknod', [join(root, 'disk2'), 'b', '8', '2']);
  run('mkfifo', [join(root, 'fifo2')]);
  run('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', join(root, 'sock2')]);
  for (const name of ['tty', 'disk', 'fifo', 'sock']) run('setfattr', ['-h', '-n', 'trusted.special', '-v', name, join(root, name)]);
  f('xa', 'xattrs here');
  run('setfattr', ['-n', 'user.bin', '-v', '0x00ff000102', join(root, 'xa')]);
  run('setfattr', ['-n', 'user.text', '-v', 'hello', join(root, 'xa')]);
  run('setcap', ['cap_net_raw+ep', join(root, 'xa')]);
  run('setfattr', ['-n', 'user.dir', '-v', 'on a dir', join(root, 'sub')]);
  run('setfattr', ['-h', '-n', 'trusted.link', '-v', 'on a symlink', join(root, 'rel')]);
  run('setfattr', ['-n', 'user.root', '-v', 'root dir', root]);
  // The same value on many files: squashfs stores it out of line once.
  for (const name of ['same1', 'same2', 'same3']) {
    f(name, name);
    run('setfattr', ['-n', 'user.shared', '-v', '0x' + 'ab'.repeat(300), join(root, name)]);
  }
  mkdirSync(join(root, 'many'));
  for (let i = 0; i < 300; i++) writeFileSync(join(root, 'many', `m${String(i).padStart(3, '0')}`), `file ${i}\n`);
  f('owned', 'big ids');
  chownSync(join(root, 'owned'), 3_000_000, 4_294_967_294);
  f('epoch', 'old');
  utimesSync(join(root, 'epoch'), 0, 0);
  f('future', 'new');
  utimesSync(join(root, 'future'), 4_000_000_000, 4_000_000_000);
  lutimesSync(join(root, 'abs'), 4_294_967_295, 4_294_967_295);
  f('setuid', 'suid');
  chmodSync(join(root, 'setuid'), 0o4755);
  mkdirSync(join(root, 'sticky'));
  chmodSync(join(root, 'sticky'), 0o1777);
  writeFileSync(Buffer.concat([Buffer.from(root + '/'), NON_UTF8]), 'bytes in the name');
  f('n'.repeat(255), 'longest name');
  let deep = root;
  for (let i = 0; i < 40; i++) {
    deep = join(deep, `d${i}`);
    mkdirSync(deep);
  }
  writeFileSync(join(deep, 'bottom'), 'deep');
  mkdirSync(join(root, 'emptydir'));
}

/** `getfattr -R` over the whole tree: latin1 path → (name → hex value). */
function readXattrs(root: string): Map<string, Map<string, string>> {
  const out = spawnSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], { encoding: 'latin1' });
  const result = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of out.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      const path = line.slice(8).replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))).replace(/\\\\/g, '\\');
      current = new Map();
      result.set(path, current);
    } else if (current && line.includes('=')) {
      const at = line.indexOf('=');
      current.set(line.slice(0, at), line.slice(at + 1));
    }
  }
  return result;
}

function typeOf(st: Stats): Entry['type'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

interface Seen {
  entry: Entry;
  sha256?: string;
  length?: number;
}

async function readAll(image: SquashfsImage, options: Parameters<SquashfsImage['walkWithData']>[0] = {}): Promise<Seen[]> {
  const seen: Seen[] = [];
  for await (const { entry, data } of image.walkWithData(options)) {
    if (!data) {
      seen.push({ entry });
      continue;
    }
    const hash = createHash('sha256');
    let length = 0;
    for await (const chunk of data) {
      hash.update(chunk);
      length += chunk.length;
    }
    seen.push({ entry, sha256: hash.digest('hex'), length });
  }
  return seen;
}

function sourcePath(entry: Entry): Buffer {
  return entry.rawPath.length === 0 ? Buffer.from(tree) : Buffer.concat([Buffer.from(tree + '/'), entry.rawPath]);
}

function compareWithTree(seen: Seen[], xattrs: Map<string, Map<string, string>>): void {
  for (const { entry, sha256, length } of seen) {
    const path = sourcePath(entry);
    const st = lstatSync(path, { bigint: true });
    const where = entry.path;
    expect(entry.type, where).toBe(typeOf(lstatSync(path)));
    expect(entry.mode, where).toBe(Number(st.mode & 0o7777n));
    expect(entry.uid, where).toBe(Number(st.uid));
    expect(entry.gid, where).toBe(Number(st.gid));
    expect(entry.mtime, where).toBe(Number(st.mtimeNs / 1_000_000_000n));
    const wanted = xattrs.get(path.toString('latin1')) ?? new Map<string, string>();
    const got = new Map([...entry.xattrs].map(([k, v]) => [k, '0x' + Buffer.from(v).toString('hex')]));
    expect(Object.fromEntries(got), where).toEqual(Object.fromEntries(wanted));
    if (entry.type === 'file') {
      const content = readFileSync(path);
      expect(entry.size, where).toBe(Number(st.size));
      expect(length, where).toBe(content.length);
      expect(sha256, where).toBe(createHash('sha256').update(content).digest('hex'));
      expect(entry.nlink, where).toBe(Number(st.nlink));
    } else {
      expect(sha256, where).toBeUndefined();
    }
    if (entry.type === 'symlink') {
      const target = readlinkSync(path, { encoding: 'buffer' });
      expect(Buffer.from(entry.target!).equals(target), where).toBe(true);
      expect(entry.size, where).toBe(target.length);
    }
    if (entry.type === 'char' || entry.type === 'block') {
      const rdev = Number(st.rdev);
      expect(entry.major, where).toBe(((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff));
      expect(entry.minor, where).toBe((rdev & 0xff) | ((rdev >>> 12) & ~0xff));
    }
  }
}

/** Parses `unsquashfs -lln` (TZ=UTC) into comparable lines. */
function unsquashfsListing(image: string): string[] {
  const out = spawnSync('unsquashfs', ['-lln', image], { encoding: 'latin1', env: { ...process.env, TZ: 'UTC' } });
  expect(out.status).toBe(0);
  return out.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const m = /^(\S{10}) (\d+)\/(\d+)\s+(\d+|-?\d+,\s*\d+) (\d{4}-\d\d-\d\d \d\d:\d\d) squashfs-root(.*)$/.exec(line);
      expect(m, line).not.toBeNull();
      const [, mode, uid, gid, size, time, rest] = m!;
      const isDir = mode!.startsWith('d');
      // unsquashfs 4.5.1 prints majors ≥ 256 wrongly; lstat checks those numbers instead.
      const shown = isDir ? '-' : rest === '/bigdev' ? '*' : size!.replace(/\s+/g, '');
      return [mode, uid, gid, shown, time, rest || '/'].join(' ');
    });
}

function ourListing(seen: Seen[]): string[] {
  return seen.map(({ entry }) => {
    const d = new Date(entry.mtime * 1000).toISOString();
    const size = entry.type === 'dir' ? '-' : entry.path === '/bigdev' ? '*' : entry.type === 'char' || entry.type === 'block' ? `${entry.major},${entry.minor}` : String(entry.size);
    const name = entry.rawPath.length === 0 ? '/' : '/' + Buffer.from(entry.rawPath).toString('latin1');
    const target = entry.type === 'symlink' ? ` -> ${Buffer.from(entry.target!).toString('latin1')}` : '';
    return [modeString(entry.type, entry.mode), entry.uid, entry.gid, size, `${d.slice(0, 10)} ${d.slice(11, 16)}`, name + target].join(' ');
  });
}

async function openImage(path: string, options: Parameters<typeof SquashfsImage.open>[1] = {}): Promise<SquashfsImage> {
  return SquashfsImage.open(await FileSource.open(path), options);
}

let xattrs: Map<string, Map<string, string>>;

/** Entries in a directory tree, the root included. */
function countTree(root: string): number {
  let n = 1;
  for (const ent of readdirSync(root, { withFileTypes: true, encoding: 'buffer' })) {
    n += ent.isDirectory() ? countTree(Buffer.concat([Buffer.from(root + '/'), ent.name]).toString()) : 1;
  }
  return n;
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'uai-sqfs-reader-'));
  tree = join(tmp, 'tree');
  buildTree(tree);
  xattrs = readXattrs(tree);
});

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await stopDecoderWorkers(); // the lzo decoder's worker pool
});

const VARIANTS: Array<[string, string[]]> = [
  ['gzip, 128 KiB blocks', []],
  ['gzip, 4 KiB blocks', ['-b', '4096']],
  ['gzip, 1 MiB blocks, no fragments', ['-b', '1M', '-no-fragments']],
  ['gzip, always fragments', ['-always-use-fragments']],
  ['nothing compressed', ['-noI', '-noId', '-noD', '-noF', '-noX']],
  ['xz with a BCJ filter', ['-comp', 'xz', '-Xbcj', 'x86']],
  ['lz4 high compression', ['-comp', 'lz4', '-Xhc']],
  ['zstd', ['-comp', 'zstd']],
  ['lzo', ['-comp', 'lzo']],
  ['lzma', ['-comp', 'lzma']],
];

describe('SquashfsImage on mksquashfs images', () => {
  for (const [name, args] of VARIANTS) {
    it(`matches the source tree and unsquashfs -lln (${name})`, async () => {
      const path = join(tmp, `${name.replace(/\W+/g, '-')}.sqfs`);
      run('mksquashfs', [tree, path, '-noappend', '-quiet', '-no-progress', ...args]);
      const warnings: unknown[] = [];
      const image = await openImage(path, { onWarning: (w) => warnings.push(w) });
      try {
        const seen = await readAll(image, { readAheadBytes: name.includes('4 KiB') ? 1 : undefined });
        expect(seen[0]!.entry.path).toBe('/');
        expect(seen.length).toBe(countTree(tree));
        compareWithTree(seen, xattrs);
        expect(ourListing(seen)).toEqual(unsquashfsListing(path));
        expect(warnings).toEqual([]);
        // Hard links share the inode ref and number.
        const a = seen.find((s) => s.entry.path === '/hl-a')!.entry;
        const b = seen.find((s) => s.entry.path === '/sub/hl-b')!.entry;
        expect([b.inode, b.inodeRef, b.nlink]).toEqual([a.inode, a.inodeRef, 2]);
        // Extended inodes of every special type carry their xattrs.
        for (const special of ['/tty', '/disk', '/fifo', '/sock']) {
          const entry = seen.find((s) => s.entry.path === special)!.entry;
          expect(Buffer.from(entry.xattrs.get('trusted.special')!).toString(), special).toBe(special.slice(1));
        }
        const nonUtf8 = seen.find((s) => Buffer.from(s.entry.rawName).equals(NON_UTF8))!.entry;
        expect(nonUtf8.path).toBe('/n\uFFFD\uFFFDn');
      } finally {
        await image.close();
      }
    });
  }
});

describe('an image written by squashfs-tools-ng (tar2sqfs)', () => {
  it('matches unsquashfs -lln, and the source tree in content and xattrs', async () => {
    const tar = join(tmp, 'ng.tar');
    const path = join(tmp, 'ng.sqfs');
    spawnSync('tar', ['--xattrs', '--xattrs-include=*', '-S', '-cf', tar, '-C', tree, '.'], { stdio: 'ignore' });
    execFileSync('sh', ['-c', `tar2sqfs -q -c zstd -f "${path}" < "${tar}"`]);
    const image = await openImage(path);
    try {
      const seen = await readAll(image);
      expect(ourListing(seen)).toEqual(unsquashfsListing(path));
      let files = 0;
      for (const { entry, sha256 } of seen) {
        if (entry.type !== 'file') continue;
        files++;
        const source = sourcePath(entry);
        expect(sha256, entry.path).toBe(createHash('sha256').update(readFileSync(source)).digest('hex'));
        const wanted = xattrs.get(source.toString('latin1')) ?? new Map<string, string>();
        const got = new Map([...entry.xattrs].map(([k, v]) => [k, '0x' + Buffer.from(v).toString('hex')]));
        expect(Object.fromEntries(got), entry.path).toEqual(Object.fromEntries(wanted));
      }
      expect(files).toBeGreaterThan(300);
    } finally {
      await image.close();
    }
  });
});

describe('SquashfsImage features', () => {
  let image: SquashfsImage;
  let imagePath: string;

  beforeAll(async () => {
    imagePath = join(tmp, 'features.sqfs');
    run('mksquashfs', [tree, imagePath, '-noappend', '-quiet', '-no-progress', '-comp', 'gzip', '-Xcompression-level', '6']);
    image = await openImage(imagePath);
  });

  afterAll(async () => {
    await image.close();
  });

  it('decodes the superblock and the compressor options', () => {
    const sb = image.superblock;
    expect(sb.compressor).toBe('gzip');
    expect(sb.blockSize).toBe(131072);
    expect(sb.blockLog).toBe(17);
    expect(sb.bytesUsed).toBeLessThanOrEqual(lstatSync(imagePath).size);
    expect(sb.inodeTableStart).toBeLessThan(sb.directoryTableStart);
    expect(image.compressorOptions).toEqual({ level: 6, windowSize: 15, strategies: 'default' });
  });

  it('walks depth-first in on-disk order, root first, with depths', async () => {
    const paths: string[] = [];
    const depths = new Map<string, number>();
    for await (const entry of image.walk()) {
      paths.push(entry.path);
      depths.set(entry.path, entry.depth);
    }
    expect(paths[0]).toBe('/');
    const many = paths.filter((p) => p.startsWith('/many/'));
    expect(many).toHaveLength(300);
    expect(many).toEqual([...many].sort());
    expect(paths.indexOf('/many/m000')).toBe(paths.indexOf('/many') + 1);
    expect(depths.get('/d0/d1/d2')).toBe(3);
    expect(paths.filter((p) => p.endsWith('/bottom'))[0]!.split('/').length).toBe(42);
  });

  it('prunes subtrees without visiting them', async () => {
    const paths: string[] = [];
    for await (const entry of image.walk({ prune: (e) => e.path === '/many' || e.path === '/d0' })) paths.push(entry.path);
    expect(paths.some((p) => p.startsWith('/many'))).toBe(false);
    expect(paths.some((p) => p.startsWith('/d0'))).toBe(false);
    expect(paths).toContain('/sub/hl-b');
  });

  it('gives data only where wanted, and discards data the consumer skips', async () => {
    let index = 0;
    const hashes = new Map<string, string>();
    for await (const { entry, data } of image.walkWithData({ wantData: (e) => e.path !== '/multi', readAheadBytes: 256 * 1024 })) {
      if (entry.path === '/multi') expect(data).toBeUndefined();
      if (!data) continue;
      if (index++ % 2 === 0) continue; // skip every other file's data
      const hash = createHash('sha256');
      for await (const chunk of data) hash.update(chunk);
      hashes.set(entry.path, hash.digest('hex'));
    }
    expect(hashes.size).toBeGreaterThan(150);
    for (const [path, hash] of hashes) {
      expect(createHash('sha256').update(readFileSync(join(tree, path))).digest('hex'), path).toBe(hash);
    }
  });

  it('keeps later files right when a consumer reads only part of a file', async () => {
    const seen = new Map<Entry, string>();
    for await (const { entry, data } of image.walkWithData({ readAheadBytes: 300 * 1024 })) {
      if (!data) continue;
      if (entry.size > 131072) {
        for await (const _ of data) break; // one chunk, then move on
        continue;
      }
      const hash = createHash('sha256');
      for await (const chunk of data) hash.update(chunk);
      seen.set(entry, hash.digest('hex'));
    }
    expect(seen.size).toBeGreaterThan(300);
    for (const [entry, hash] of seen) {
      expect(createHash('sha256').update(readFileSync(sourcePath(entry))).digest('hex'), entry.path).toBe(hash);
    }
  });

  it('stops walkWithData when the signal fires mid-way', async () => {
    const controller = new AbortController();
    let n = 0;
    await expect(
      (async () => {
        for await (const { data } of image.walkWithData({ signal: controller.signal })) {
          if (++n === 20) controller.abort(new Error('enough'));
          if (data) for await (const _ of data);
        }
      })(),
    ).rejects.toThrow('enough');
    expect(n).toBe(20);
  });

  it('reads one file with readFile', async () => {
    for (const path of ['/mib-plus', '/sparse', '/sparse-tail', '/one', '/empty', '/exact-mib']) {
      const entry = await image.lookup(path);
      const chunks: Uint8Array[] = [];
      for await (const chunk of image.readFile(entry)) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(readFileSync(join(tree, path))), path).toBe(true);
    }
    await expect(image.readFile(await image.lookup('/sub'))[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'UAI_SQFS_UNSUPPORTED' });
  });

  it('looks up paths, following symlinks inside the image only', async () => {
    expect((await image.lookup('/sub/hl-b')).inode).toBe((await image.lookup('hl-a')).inode);
    expect((await image.lookup('/linkdir/hl-b')).path).toBe('/sub/hl-b');
    expect((await image.lookup('/linkdir')).type).toBe('symlink');
    expect((await image.lookup('/linkdir', { followLast: true })).path).toBe('/sub');
    expect((await image.lookup('/escape', { followLast: true })).path).toBe('/sub');
    expect((await image.lookup('/../../sub/./hl-b')).path).toBe('/sub/hl-b');
    expect((await image.lookup('/')).type).toBe('dir');
    expect((await image.lookup(Buffer.concat([Buffer.from('/'), NON_UTF8]))).size).toBe(17);
    await expect(image.lookup('/nope')).rejects.toMatchObject({ code: 'UAI_SQFS_NOT_FOUND' });
    await expect(image.lookup('/one/x')).rejects.toMatchObject({ code: 'UAI_SQFS_NOT_DIR' });
    await expect(image.lookup('/loop1', { followLast: true })).rejects.toMatchObject({ code: 'UAI_SQFS_LINK_LOOP' });
    await expect(image.lookup('/abs', { followLast: true })).rejects.toMatchObject({ code: 'UAI_SQFS_NOT_FOUND' });
  });

  it('counts entries for inspect', async () => {
    const stats = await image.stats();
    expect(stats).toMatchObject({ dirs: 45, devices: 4, fifos: 2, sockets: 2 });
    // The same numbers from a walk: distinct inode refs per type, bytes and xattrs once per inode.
    const seen = new Map<number, Entry>();
    for await (const entry of image.walk()) seen.set(entry.inodeRef, entry);
    const all = [...seen.values()];
    const of = (type: Entry['type']) => all.filter((e) => e.type === type);
    expect(stats.inodes).toBe(image.superblock.inodes);
    expect(stats.inodes).toBe(all.length);
    expect(stats.files).toBe(of('file').length);
    expect(stats.files).toBeGreaterThan(300);
    expect(stats.symlinks).toBe(of('symlink').length);
    expect(stats.bytes).toBe(of('file').reduce((n, e) => n + e.size, 0));
    expect(stats.xattrEntries).toBe(all.reduce((n, e) => n + e.xattrs.size, 0));
    expect(stats.xattrEntries).toBeGreaterThanOrEqual(9);
  });

  it('stops on an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(image.walk({ signal: controller.signal })[Symbol.asyncIterator]().next()).rejects.toThrow('stop');
  });

  it('reads an image at an offset inside a larger file, from a file or from memory', async () => {
    const bytes = readFileSync(imagePath);
    const padded = Buffer.concat([noise(5000, 9), bytes, noise(3000, 10)]);
    const paddedPath = join(tmp, 'padded.bin');
    writeFileSync(paddedPath, padded);
    const expected = (await readAll(image)).map((s) => [s.entry.path, s.sha256]);
    const fromFile = await SquashfsImage.open(await FileSource.open(paddedPath, { offset: 5000 }));
    try {
      expect(fromFile.superblock.bytesUsed).toBeLessThan(bytes.length + 3000);
      expect((await readAll(fromFile)).map((s) => [s.entry.path, s.sha256])).toEqual(expected);
    } finally {
      await fromFile.close();
    }
    const fromMemory = await SquashfsImage.open(new MemorySource(padded.subarray(5000)));
    expect((await readAll(fromMemory)).map((s) => [s.entry.path, s.sha256])).toEqual(expected);
    await expect(SquashfsImage.open(new MemorySource(padded))).rejects.toMatchObject({ code: 'UAI_SQFS_BAD_MAGIC' });
  });
});

describe('files of 4 GiB and more (a sparse file written by tar2sqfs)', () => {
  it('reads every byte with the right size; only its non-sparse blocks count against the output cap', async () => {
    const dir = join(tmp, 'huge');
    mkdirSync(dir);
    const fd = openSync(join(dir, 'huge'), 'w');
    const size = 4 * 1024 ** 3 + 123_456_789;
    writeSync(fd, Buffer.from('head'), 0, 4, 0);
    writeSync(fd, Buffer.from('tail!'), 0, 5, size - 5);
    closeSync(fd);
    run('tar', ['-S', '-cf', join(tmp, 'huge.tar'), '-C', dir, 'huge']);
    const image = join(tmp, 'huge.sqfs');
    execFileSync('sh', ['-c', `tar2sqfs -q -c gzip -b 1048576 -f "${image}" < "${join(tmp, 'huge.tar')}"`]);
    const opened = await openImage(image, { limits: { maxOutputBytes: 2 ** 40 } });
    try {
      const entry = await opened.lookup('/huge');
      expect(entry.size).toBe(size);
      let total = 0;
      let first: Uint8Array | undefined;
      let last: Uint8Array | undefined;
      for await (const chunk of opened.readFile(entry)) {
        first ??= chunk;
        last = chunk;
        total += chunk.length;
      }
      expect(total).toBe(size);
      expect(Buffer.from(first!.subarray(0, 4)).toString()).toBe('head');
      expect(Buffer.from(last!.subarray(-5)).toString()).toBe('tail!');
    } finally {
      await opened.close();
    }
    const defaults = await openImage(image);
    try {
      expect(defaults.limits.maxOutputBytes).toBeLessThan(size);
      let files = 0;
      for await (const e of defaults.walk()) if (e.type === 'file') files++;
      expect(files).toBe(1);
    } finally {
      await defaults.close();
    }
    // Its two real 1 MiB blocks (head and tail) are what a cap below 2 MiB refuses.
    const capped = await openImage(image, { limits: { maxOutputBytes: 1024 * 1024 } });
    try {
      const walk = capped.walk();
      await expect((async () => {
        for await (const _ of walk);
      })()).rejects.toSatisfy((err: unknown) => err instanceof SquashfsError && err.code === 'UAI_SQFS_LIMIT');
    } finally {
      await capped.close();
    }
  });
});
