/**
 * `inodeTotals()`: one pass over the inode table. It must count what the tree walk counts
 * (`stats()`) on every committed fixture (mksquashfs and gensquashfs images, every inode
 * type, hard links, xattrs, and, in the ng-tree images, extended directory inodes with
 * index entries, whose length the pass must get right to find the next inode), and it
 * must stop with an error naming the inode table and the offset on a damaged table.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySource } from '../../src/source/index.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { stopDecoderWorkers } from '../../src/squashfs/compression/index.ts';
import { fixturePath, fixtures } from '../support/fixtures.ts';

afterAll(async () => {
  await stopDecoderWorkers();
});

describe.each(fixtures())('$name', (fx) => {
  it('counts the inodes, files and file bytes the tree walk counts', async () => {
    const image = await SquashfsImage.open(new MemorySource(readFileSync(fx.path)));
    const stats = await image.stats();
    expect(stats.inodes).toBeGreaterThan(10);
    expect(image.inodeTotals()).toEqual({ inodes: stats.inodes, files: stats.files, fileBytes: stats.bytes });
  });
});

describe('extended inodes of every type', () => {
  it('counts extended devices, fifos, sockets, symlinks and directories (types 8 and 10-14) as the walk does', async () => {
    // An xattr makes mksquashfs write the extended form of an inode; trusted.* is the
    // namespace root may set on special files. No committed fixture has types 11-14.
    const dir = mkdtempSync(join(tmpdir(), 'uai-inode-scan-'));
    try {
      const root = join(dir, 'root');
      mkdirSync(join(root, 'd'), { recursive: true });
      execFileSync('mkfifo', [join(root, 'fifo')]);
      execFileSync('mknod', [join(root, 'cdev'), 'c', '1', '3']);
      execFileSync('mknod', [join(root, 'bdev'), 'b', '7', '0']);
      execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(join(root, 'sock'))})`]);
      symlinkSync('fifo', join(root, 'link'));
      writeFileSync(join(root, 'd', 'file'), 'x'.repeat(5000));
      for (const name of ['fifo', 'cdev', 'bdev', 'sock', 'link', 'd', 'd/file']) {
        execFileSync('setfattr', ['-h', '-n', 'trusted.uai', '-v', name, join(root, name)]);
      }
      const imagePath = join(dir, 'x.sqfs');
      execFileSync('mksquashfs', [root, imagePath, '-noappend', '-quiet', '-no-progress'], { stdio: ['ignore', 'ignore', 'pipe'] });
      const image = await SquashfsImage.open(new MemorySource(readFileSync(imagePath)));
      const withXattr = new Map<string, string>();
      for await (const entry of image.walk()) if (entry.xattrs.size > 0) withXattr.set(entry.path, entry.type);
      expect(Object.fromEntries(withXattr)).toEqual({
        '/bdev': 'block',
        '/cdev': 'char',
        '/d': 'dir',
        '/d/file': 'file',
        '/fifo': 'fifo',
        '/link': 'symlink',
        '/sock': 'socket',
      });
      const stats = await image.stats();
      expect(image.inodeTotals()).toEqual({ inodes: stats.inodes, files: 1, fileBytes: 5000 });
      expect(stats.inodes).toBe(8); // the root, d, d/file and the five above
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** tree-uncompressed.sqfs keeps its inode table uncompressed (-noI): its bytes can be edited in place. */
function uncompressedImage(): { bytes: Uint8Array; view: DataView; tableStart: number; firstInode: number } {
  const bytes = new Uint8Array(readFileSync(fixturePath('tree-uncompressed.sqfs')));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tableStart = Number(view.getBigUint64(64, true));
  // A metadata block is a 2-byte header (bit 15: stored uncompressed) then its payload.
  expect(view.getUint16(tableStart, true) & 0x8000).toBe(0x8000);
  return { bytes, view, tableStart, firstInode: tableStart + 2 };
}

describe('a damaged inode table', () => {
  it('an unknown inode type: UAI_SQFS_CORRUPTED at the inode table, with the type', async () => {
    const { bytes, view, tableStart, firstInode } = uncompressedImage();
    view.setUint16(firstInode, 15, true);
    const image = await SquashfsImage.open(new MemorySource(bytes));
    let err: unknown;
    try {
      image.inodeTotals();
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'UAI_SQFS_CORRUPTED', table: 'inode table', offset: tableStart });
    expect((err as Error).message).toMatch(/inode 1 at uncompressed offset 0: type 15 is not 1\.\.14/);
  });

  it('a file whose block list would pass the table end', async () => {
    const { bytes, view, firstInode } = uncompressedImage();
    view.setUint16(firstInode, 2, true); // basic file
    view.setUint32(firstInode + 16 + 4, 0xffff_ffff, true); // no fragment: every byte in blocks
    view.setUint32(firstInode + 16 + 12, 0xffff_ffff, true); // file_size: 4 GiB of block sizes
    const image = await SquashfsImage.open(new MemorySource(bytes));
    expect(() => image.inodeTotals()).toThrow(/inode table at offset \d+: inode scan, inode 1 .* bytes pass the table end/);
  });

  it('more inodes than the superblock counts', async () => {
    const { bytes, view } = uncompressedImage();
    const inodes = view.getUint32(4, true);
    view.setUint32(4, inodes - 1, true);
    const image = await SquashfsImage.open(new MemorySource(bytes));
    expect(() => image.inodeTotals()).toThrow(`the table goes on after the ${inodes - 1} inodes the superblock counts`);
  });
});
