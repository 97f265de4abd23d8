/**
 * Hostile images: real mksquashfs images with uncompressed metadata (`-noI -noX`), then
 * patched byte by byte. Each corruption must be refused with its own error code, before
 * any unbounded work; random damage must only ever produce UaiErrors.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUaiError, type Warning } from '../../src/errors.ts';
import { MemorySource } from '../../src/source/index.ts';
import { SquashfsImage, type Limits } from '../../src/squashfs/index.ts';

let tmp: string;
let counter = 0;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'uai-sqfs-hostile-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Builds an image of the tree `populate` makes; metadata stays uncompressed so names can be patched. */
function build(populate: (dir: string) => void, extra: string[] = ['-noI', '-noX']): Buffer {
  const dir = join(tmp, `tree${++counter}`);
  mkdirSync(dir);
  populate(dir);
  const image = join(tmp, `image${counter}.sqfs`);
  execFileSync('mksquashfs', [dir, image, '-noappend', '-quiet', '-no-progress', '-all-root', ...extra], { stdio: 'ignore' });
  return readFileSync(image);
}

async function open(bytes: Uint8Array, limits?: Partial<Limits>, onWarning?: (w: Warning) => void): Promise<SquashfsImage> {
  return SquashfsImage.open(new MemorySource(bytes), { limits, onWarning });
}

/** Opens, walks and reads every file; returns the number of entries. */
async function readEverything(bytes: Uint8Array, limits?: Partial<Limits>, onWarning?: (w: Warning) => void): Promise<number> {
  const image = await open(bytes, limits, onWarning);
  let n = 0;
  for await (const { data } of image.walkWithData({ readAheadBytes: 64 * 1024 })) {
    n++;
    if (data) for await (const _ of data);
  }
  return n;
}

async function expectRefused(bytes: Uint8Array, code: string, limits?: Partial<Limits>): Promise<void> {
  await expect(readEverything(bytes, limits)).rejects.toMatchObject({ code });
}

/** The one offset of `needle` in `bytes` (fails if there are several or none). */
function findOnce(bytes: Buffer, needle: string | Buffer): number {
  const at = bytes.indexOf(needle);
  expect(at, `${needle} in the image`).toBeGreaterThanOrEqual(0);
  expect(bytes.indexOf(needle, at + 1), `${needle} only once`).toBe(-1);
  return at;
}

function patched(bytes: Buffer, edit: (copy: Buffer) => void): Buffer {
  const copy = Buffer.from(bytes);
  edit(copy);
  return copy;
}

/** Points the directory entry named `name` at the inode of `to` (same inode-table block). */
async function redirectEntry(bytes: Buffer, name: string, to: string, keepType = false): Promise<Buffer> {
  const image = await open(bytes);
  const from = await image.lookup(name);
  const target = await image.lookup(to);
  expect(Math.floor(target.inodeRef / 65536)).toBe(Math.floor(from.inodeRef / 65536));
  const at = findOnce(bytes, Buffer.from(from.rawName)) - 8;
  return patched(bytes, (copy) => {
    const delta = copy.readInt16LE(at + 2);
    const headerBase = from.inode - delta;
    copy.writeUInt16LE(target.inodeRef % 65536, at);
    copy.writeInt16LE(target.inode - headerBase, at + 2);
    if (!keepType) copy.writeUInt16LE(target.type === 'dir' ? 1 : 2, at + 4);
  });
}

describe('names', () => {
  it('refuses .. , a/b , NUL, duplicate and unsorted names', async () => {
    const bytes = build((dir) => {
      for (const name of ['zq', 'a-b', 'n_l', 'dup1', 'dup2', 'srt5', 'srt6']) writeFileSync(join(dir, name), '');
    });
    expect(await readEverything(bytes)).toBe(8);
    const rename = (from: string, to: string) => patched(bytes, (copy) => copy.write(to, findOnce(bytes, from), 'latin1'));
    await expectRefused(rename('zq', '..'), 'UAI_SQFS_BAD_NAME');
    await expectRefused(rename('a-b', 'a/b'), 'UAI_SQFS_BAD_NAME');
    await expectRefused(rename('n_l', 'n\0l'), 'UAI_SQFS_BAD_NAME');
    await expectRefused(rename('zq', '.z'), 'UAI_SQFS_BAD_NAME'); // '.z' sorts before 'a-b': unsorted
    await expectRefused(rename('dup2', 'dup1'), 'UAI_SQFS_BAD_NAME');
    await expectRefused(rename('srt5', 'srt7'), 'UAI_SQFS_BAD_NAME');
  });
});

describe('directory graph', () => {
  it('refuses a directory that contains itself', async () => {
    const bytes = build((dir) => {
      mkdirSync(join(dir, 'loop'));
      mkdirSync(join(dir, 'loop', 'inner'));
    });
    await expectRefused(await redirectEntry(bytes, '/loop/inner', '/loop'), 'UAI_SQFS_LOOP');
  });

  it('refuses a hard-linked directory', async () => {
    const bytes = build((dir) => {
      mkdirSync(join(dir, 'd1'));
      mkdirSync(join(dir, 'd2'));
      writeFileSync(join(dir, 'd1', 'f'), 'x');
    });
    await expectRefused(await redirectEntry(bytes, '/d2', '/d1'), 'UAI_SQFS_LOOP');
  });

  it('refuses an entry whose type disagrees with its inode', async () => {
    const bytes = build((dir) => {
      mkdirSync(join(dir, 'dd'));
      writeFileSync(join(dir, 'ff'), 'x');
    });
    await expectRefused(await redirectEntry(bytes, '/ff', '/dd', true), 'UAI_SQFS_CORRUPTED');
  });
});

describe('sizes', () => {
  it('stops an overlapping-data bomb with the output cap, before reading data', async () => {
    const names = Array.from({ length: 19 }, (_, i) => `e${String(i).padStart(2, '0')}`);
    const bytes = build((dir) => {
      writeFileSync(join(dir, 'big'), Buffer.alloc(64 * 1024 * 1024, 'a'));
      for (const name of names) writeFileSync(join(dir, name), '');
    });
    expect(bytes.length).toBeLessThan(1024 * 1024);
    let bomb = bytes;
    for (const name of names) bomb = await redirectEntry(bomb, `/${name}`, '/big');
    const image = await open(bomb);
    let declared = 0;
    await expect(
      (async () => {
        for await (const entry of image.walk()) declared += entry.size;
      })(),
    ).rejects.toMatchObject({ code: 'UAI_SQFS_LIMIT' });
    expect(declared).toBeLessThanOrEqual(image.limits.maxOutputBytes);
    // A cap that the real tree exceeds fires as well.
    await expectRefused(bytes, 'UAI_SQFS_LIMIT', { maxOutputBytes: 32 * 1024 * 1024 });
    await expectRefused(bytes, 'UAI_SQFS_LIMIT', { maxEntries: 5 });
    // Metadata that decompresses to more than the cap is refused at open.
    await expect(open(bytes, { maxMetadataBytes: 100 })).rejects.toMatchObject({ code: 'UAI_SQFS_LIMIT' });
  });

  it('refuses a huge symlink_size, and a target over the limit', async () => {
    const bytes = build((dir) => symlinkSync('target-of-link', join(dir, 'sl')));
    const image = await open(bytes);
    const entry = await image.lookup('/sl');
    expect(entry.inodeRef).toBeLessThan(8192);
    const inodeAt = image.superblock.inodeTableStart + 2 + entry.inodeRef;
    expect(bytes.readUInt16LE(inodeAt)).toBe(3);
    expect(bytes.readUInt32LE(inodeAt + 20)).toBe(14);
    await expectRefused(patched(bytes, (c) => c.writeUInt32LE(0xfffffff0, inodeAt + 20)), 'UAI_SQFS_OUT_OF_BOUNDS');
    await expectRefused(bytes, 'UAI_SQFS_LIMIT', { maxSymlinkTarget: 10 });
  });

  it('refuses a file whose block list passes the inode table', async () => {
    const bytes = build((dir) => writeFileSync(join(dir, 'f'), 'hello'));
    const image = await open(bytes);
    const entry = await image.lookup('/f');
    const inodeAt = image.superblock.inodeTableStart + 2 + entry.inodeRef;
    expect(bytes.readUInt16LE(inodeAt)).toBe(2);
    expect(bytes.readUInt32LE(inodeAt + 28)).toBe(5);
    await expectRefused(patched(bytes, (c) => c.writeUInt32LE(0xffffff00, inodeAt + 28)), 'UAI_SQFS_OUT_OF_BOUNDS');
    // A fragment index past the fragment table.
    await expectRefused(patched(bytes, (c) => c.writeUInt32LE(7, inodeAt + 20)), 'UAI_SQFS_OUT_OF_BOUNDS');
  });
});

describe('superblock and tables', () => {
  let bytes: Buffer;
  beforeAll(() => {
    bytes = build((dir) => {
      writeFileSync(join(dir, 'f'), 'some data '.repeat(5000));
      writeFileSync(join(dir, 'g'), 'tail');
    }, []);
  });

  const sb = (edit: (c: Buffer) => void) => patched(bytes, edit);

  it('reads the pristine image', async () => {
    expect(await readEverything(bytes)).toBe(3);
  });

  it('refuses bad magic, version, block size, block_log and compressor', async () => {
    await expectRefused(sb((c) => c.writeUInt32LE(0x12345678, 0)), 'UAI_SQFS_BAD_MAGIC');
    await expectRefused(bytes.subarray(0, 50), 'UAI_SQFS_BAD_MAGIC');
    await expectRefused(sb((c) => c.writeUInt16LE(3, 28)), 'UAI_SQFS_VERSION');
    await expectRefused(sb((c) => c.writeUInt32LE(5000, 12)), 'UAI_SQFS_CORRUPTED');
    await expectRefused(sb((c) => c.writeUInt16LE(16, 22)), 'UAI_SQFS_CORRUPTED');
    await expectRefused(sb((c) => c.writeUInt16LE(9, 20)), 'UAI_SQFS_UNSUPPORTED');
  });

  it('refuses table pointers outside the image or out of order', async () => {
    await expectRefused(sb((c) => c.writeUInt32LE(bytes.length + 1, 40)), 'UAI_SQFS_OUT_OF_BOUNDS');
    await expectRefused(sb((c) => c.writeUInt32LE(c.readUInt32LE(40) + 100, 48)), 'UAI_SQFS_OUT_OF_BOUNDS');
    await expectRefused(sb((c) => c.writeUInt32LE(c.readUInt32LE(64) - 1, 72)), 'UAI_SQFS_OUT_OF_BOUNDS');
    await expectRefused(sb((c) => c.writeUInt32LE(10, 64)), 'UAI_SQFS_OUT_OF_BOUNDS');
    await expectRefused(sb((c) => c.writeUInt32LE(0x7fffffff, 52)), 'UAI_SQFS_OVERFLOW');
    await expectRefused(sb((c) => c.writeUInt16LE(9000, 32)), 'UAI_SQFS_OUT_OF_BOUNDS');
    // The id table's block location points into the superblock.
    const idList = bytes.readUInt32LE(48);
    await expectRefused(sb((c) => c.writeUInt32LE(4, idList)), 'UAI_SQFS_OUT_OF_BOUNDS');
  });

  it('refuses a metadata block header over 8192 bytes', async () => {
    await expectRefused(sb((c) => c.writeUInt16LE(0x7fff, c.readUInt32LE(64))), 'UAI_SQFS_CORRUPTED');
  });

  it('refuses damaged data blocks', async () => {
    // The first data block of f starts right after the superblock.
    await expectRefused(sb((c) => c.fill(0x55, 110, 150)), 'UAI_SQFS_DECOMPRESS');
  });
});

describe('data errors', () => {
  it('surface at the file they belong to, and never for files whose data is not wanted', async () => {
    const bytes = build((dir) => {
      writeFileSync(join(dir, 'a'), 'first file '.repeat(20000));
      writeFileSync(join(dir, 'b'), 'second file '.repeat(20000));
      writeFileSync(join(dir, 'c'), 'third file '.repeat(20000));
    }, ['-no-fragments']);
    const image = await open(bytes);
    const b = await image.lookup('/b');
    const at = b.layout!.blocksStart + 10;
    const damaged = patched(bytes, (c) => c.fill(0x33, at, at + 20));
    const broken = await open(damaged);
    const read: string[] = [];
    await expect(
      (async () => {
        for await (const { entry, data } of broken.walkWithData()) {
          if (data) for await (const _ of data);
          read.push(entry.path);
        }
      })(),
    ).rejects.toMatchObject({ code: 'UAI_SQFS_DECOMPRESS' });
    expect(read).toEqual(['/', '/a']);
    const skipped: string[] = [];
    for await (const { entry, data } of broken.walkWithData({ wantData: (e) => e.path !== '/b' })) {
      if (data) for await (const _ of data);
      skipped.push(entry.path);
    }
    expect(skipped).toEqual(['/', '/a', '/b', '/c']);
  });
});

describe('xattrs', () => {
  it('skips an unknown prefix with a warning and keeps the other attributes', async () => {
    const bytes = build((dir) => {
      writeFileSync(join(dir, 'f'), 'x');
      execFileSync('setfattr', ['-n', 'user.keep', '-v', 'kept', join(dir, 'f')]);
      execFileSync('setfattr', ['-n', 'user.zzzq', '-v', 'dropped', join(dir, 'f')]);
    });
    const at = findOnce(bytes, 'zzzq') - 4;
    expect(bytes.readUInt16LE(at)).toBe(0);
    const warnings: Warning[] = [];
    const image = await open(patched(bytes, (c) => c.writeUInt16LE(7, at)), undefined, (w) => warnings.push(w));
    const entry = await image.lookup('/f');
    expect([...entry.xattrs.keys()]).toEqual(['user.keep']);
    expect(Buffer.from(entry.xattrs.get('user.keep')!).toString()).toBe('kept');
    expect(warnings.map((w) => w.code)).toEqual(['UAI_SQFS_XATTR_PREFIX']);
  });
});

describe('random damage', () => {
  const populate = (dir: string) => {
    writeFileSync(join(dir, 'f'), 'some data '.repeat(3000));
    mkdirSync(join(dir, 'd'));
    for (let i = 0; i < 40; i++) writeFileSync(join(dir, 'd', `n${i}`), `small ${i}`);
    symlinkSync('../f', join(dir, 'd', 'link'));
    execFileSync('setfattr', ['-n', 'user.v', '-v', 'value', join(dir, 'f')]);
    execFileSync('setfattr', ['-n', 'user.w', '-v', 'value', join(dir, 'd')]);
  };

  for (const [name, args, rounds] of [
    ['compressed', [], 300],
    ['uncompressed', ['-noI', '-noD', '-noF', '-noX'], 1200],
  ] as const) {
    it(`only ever fails with UaiErrors (${name} metadata)`, async () => {
      const plain = build(populate, [...args]);
      const used = plain.readUInt32LE(40);
      const tables = plain.readUInt32LE(64); // most damage goes to the metadata, after the data
      let state = 12345;
      const random = (n: number) => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return (state >>> 8) % n;
      };
      const outcomes = new Map<string, number>();
      for (let round = 0; round < rounds; round++) {
        const copy = Buffer.from(plain);
        const flips = 1 + random(3);
        for (let i = 0; i < flips; i++) copy[random(4) === 0 ? random(used) : tables + random(used - tables)] = random(256);
        let outcome = 'ok';
        try {
          await readEverything(copy);
        } catch (err) {
          if (!isUaiError(err)) throw new Error(`round ${round}: not a UaiError: ${(err as Error).stack}`);
          outcome = (err as { code: string }).code;
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      if (process.env.UAI_FUZZ_REPORT) console.log(name, Object.fromEntries(outcomes));
      expect(outcomes.size).toBeGreaterThan(3);
    });
  }
});
