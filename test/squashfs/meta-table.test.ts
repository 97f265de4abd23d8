/**
 * `MetadataTable` keeps a table compressed and decodes blocks when read, with a small
 * cache: runs read across block edges must equal the plain concatenation of the decoded
 * blocks, each block must be decoded about once per pass (not once per read), and a
 * block that decodes differently the second time is an error, not wrong bytes. A table
 * within `keepDecoded` keeps what `load` decoded instead and never decodes again.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySource } from '../../src/source/index.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { MetadataTable } from '../../src/squashfs/meta-reader.ts';
import { createDecompressor, type Decompressor } from '../../src/squashfs/compression/index.ts';
import { decodedTables, metadataBlocks, mksquashfs, parseSuperblock } from '../support/fixtures.ts';

let dir: string;
let image: Buffer;

/** The decoded inode table of an image (default the links image). */
function decodedInodeTable(bytes = image): Buffer {
  return decodedTables(bytes).inodes;
}

/** A decompressor that counts its metadata calls and can be told to cut outputs short. */
function counting(inner: Decompressor): Decompressor & { calls: number; cut: boolean } {
  const wrapper = {
    name: inner.name,
    calls: 0,
    cut: false,
    decompressSync(input: Uint8Array, maxOutput: number): Uint8Array {
      wrapper.calls++;
      const out = inner.decompressSync(input, maxOutput);
      return wrapper.cut ? out.subarray(0, out.length - 1) : out;
    },
    decompress: (input: Uint8Array, maxOutput: number) => inner.decompress(input, maxOutput),
  };
  return wrapper;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'uai-meta-table-'));
  mkdirSync(join(dir, 'empty'));
  // 6,000 symlinks with ~190-byte targets: an inode table of ~150 metadata blocks, more
  // than the table's cache holds, made from pseudo definitions (no files written).
  const lines = Array.from({ length: 10 }, (_, i) => `d${i} d 755 0 0`);
  for (let i = 0; i < 6000; i++) lines.push(`d${i % 10}/link${String(i).padStart(5, '0')} s 777 0 0 /some/long/target/${'x'.repeat(150)}${i}`);
  writeFileSync(join(dir, 'pseudo.txt'), lines.join('\n') + '\n');
  mksquashfs(join(dir, 'empty'), join(dir, 'links.sqfs'), ['-pf', join(dir, 'pseudo.txt')]);
  image = readFileSync(join(dir, 'links.sqfs'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('MetadataTable', () => {
  async function inodeTable(decompressor: Decompressor, keepDecoded?: number, bytes = image): Promise<{ table: MetadataTable; flat: Buffer }> {
    const sb = parseSuperblock(bytes);
    const flat = decodedInodeTable(bytes);
    const table = await MetadataTable.load(new MemorySource(bytes, 'links.sqfs'), decompressor, {
      name: 'inode table',
      start: sb.inodeTableStart,
      end: sb.directoryTableStart,
      maxBytes: 512 * 1024 * 1024,
      ...(keepDecoded === undefined ? {} : { keepDecoded }),
    });
    return { table, flat };
  }

  it.each([
    ['decoded when read', undefined],
    ['kept decoded', 64 * 1024 * 1024],
  ])('reads any run, across block edges too, as the concatenation of the decoded blocks (%s)', async (_mode, keepDecoded) => {
    const { table, flat } = await inodeTable(createDecompressor(1), keepDecoded);
    expect(flat.length).toBeGreaterThan(100 * 8192);
    expect(table.length).toBe(flat.length);
    expect(table.keptBytes).toBe(keepDecoded === undefined ? 0 : flat.length);
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      // Every fourth run starts just before a block edge (and crosses it unless it is one byte long); some span several blocks.
      const length = 1 + random(i % 10 === 0 ? 40_000 : 300);
      const pos = i % 4 === 0 ? Math.max(0, (1 + random(Math.floor(flat.length / 8192) - 2)) * 8192 - 1 - random(length)) : random(flat.length - length);
      const at = table.seek(pos, length, 'test');
      expect(Buffer.from(table.bytes.subarray(at, at + length)).equals(flat.subarray(pos, pos + length))).toBe(true);
      expect(table.view.getUint8(at)).toBe(flat[pos]);
    }
    expect(() => table.bytesAt(flat.length - 4, 8, 'the last bytes')).toThrow(/the last bytes: 8 bytes at uncompressed offset \d+ pass the table end/);
  });

  it('decodes each block once to load, then about once per pass, not once per read', async () => {
    const decompressor = counting(createDecompressor(1));
    const { table, flat } = await inodeTable(decompressor);
    const blocks = Math.ceil(flat.length / 8192);
    expect(decompressor.calls).toBe(blocks);
    // Two forward passes in small reads (~8 per block): each block decoded once per pass,
    // as the cache holds fewer blocks than the table has.
    decompressor.calls = 0;
    for (let pass = 0; pass < 2; pass++) for (let pos = 0; pos + 1000 <= flat.length; pos += 1000) table.seek(pos, 1000, 'test');
    expect(decompressor.calls).toBe(2 * blocks);
    // Reads that stay within a few blocks decode nothing new.
    decompressor.calls = 0;
    for (let i = 0; i < 1000; i++) table.seek(8192 * (i % 5) + (i % 100), 50, 'test');
    expect(decompressor.calls).toBeLessThanOrEqual(5);
  });

  it('a table within keepDecoded is decoded once, by load, however often it is read', async () => {
    const decompressor = counting(createDecompressor(1));
    const { table, flat } = await inodeTable(decompressor, decodedInodeTable().length);
    const blocks = Math.ceil(flat.length / 8192);
    expect(decompressor.calls).toBe(blocks);
    for (let pass = 0; pass < 2; pass++) for (let pos = 0; pos + 1000 <= flat.length; pos += 1000) table.seek(pos, 1000, 'test');
    expect(decompressor.calls).toBe(blocks);
    expect(table.keptBytes).toBe(flat.length);
  });

  it('a table one byte over keepDecoded decodes its blocks when read, as with no budget', async () => {
    const decompressor = counting(createDecompressor(1));
    const { table, flat } = await inodeTable(decompressor, decodedInodeTable().length - 1);
    const blocks = Math.ceil(flat.length / 8192);
    for (let pass = 0; pass < 2; pass++) for (let pos = 0; pos + 1000 <= flat.length; pos += 1000) table.seek(pos, 1000, 'test');
    expect(decompressor.calls).toBe(3 * blocks);
    expect(table.keptBytes).toBe(0);
  });

  it.each([
    ['gzip blocks (node:zlib hands out views of 64 KiB buffers)', false],
    ['blocks stored uncompressed (views of the on-disk region)', true],
  ])('a kept table is one buffer of exactly its decoded size: %s', async (_what, storedBlocks) => {
    let bytes = image;
    if (storedBlocks) {
      // -noI: every inode table block is stored as it is.
      mksquashfs(join(dir, 'empty'), join(dir, 'stored.sqfs'), ['-pf', join(dir, 'pseudo.txt'), '-noI']);
      bytes = readFileSync(join(dir, 'stored.sqfs'));
      const sb = parseSuperblock(bytes);
      expect(metadataBlocks(bytes).filter((b) => b.offset < sb.directoryTableStart).every((b) => b.stored)).toBe(true);
    }
    const { table, flat } = await inodeTable(createDecompressor(1), 64 * 1024 * 1024, bytes);
    expect(table.keptBytes).toBe(flat.length);
    for (let pos = 0; pos + 300 < flat.length; pos += 7919) {
      const at = table.seek(pos, 300, 'test');
      expect(Buffer.from(table.bytes.subarray(at, at + 300)).equals(flat.subarray(pos, pos + 300))).toBe(true);
      expect(table.bytes.buffer.byteLength).toBe(flat.length);
    }
  });

  it('a table of many tiny blocks holds its decoded size, not a buffer per block', async () => {
    // 20,000 zlib blocks of one byte each (9 bytes on disk, 11 with the header): a hostile
    // writer's way to make a small table cost the codec's whole output buffer per block.
    const count = 20_000;
    const payload = deflateSync(Buffer.from([0x5a]));
    const region = Buffer.concat(Array.from({ length: count }, () => Buffer.concat([Buffer.from([payload.length & 0xff, payload.length >> 8]), payload])));
    const decompressor = counting(createDecompressor(1));
    const table = await MetadataTable.load(new MemorySource(region, 'tiny.sqfs'), decompressor, { name: 'inode table', start: 0, end: region.length, maxBytes: 1 << 20, keepDecoded: 8 * 1024 * 1024 });
    expect(decompressor.calls).toBe(count);
    expect(table.keptBytes).toBe(count);
    const at = table.seek(12_345, 100, 'test');
    expect(table.bytes.buffer.byteLength).toBe(count);
    expect([...table.bytes.subarray(at, at + 100)].every((b) => b === 0x5a)).toBe(true);
    expect(decompressor.calls).toBe(count);
  });

  it('a block that decodes to another length than at load time is UAI_SQFS_CORRUPTED, naming the block', async () => {
    const decompressor = counting(createDecompressor(1));
    const { table, flat } = await inodeTable(decompressor);
    decompressor.cut = true;
    const pos = flat.length - 100 * 8192;
    let caught: unknown;
    try {
      table.seek(pos, 16, 'test');
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'UAI_SQFS_CORRUPTED', message: expect.stringMatching(/inode table at offset \d+: metadata block decoded to 8191 bytes, not the 8192/) });
  });

  it.each([
    ['tables decoded when read', 0],
    ['tables kept decoded (the default)', undefined],
    ['only the inode table kept', 'inodes'],
  ] as const)('an image whose inode table outgrows the cache walks and gives every symlink its own target (%s)', async (_mode, decodedTableBytes) => {
    const inodeBytes = decodedInodeTable().length;
    const limits =
      decodedTableBytes === undefined ? {} : { decodedTableBytes: decodedTableBytes === 'inodes' ? inodeBytes : decodedTableBytes };
    const opened = await SquashfsImage.open(new MemorySource(image, 'links.sqfs'), { limits });
    let links = 0;
    for await (const entry of opened.walk()) {
      if (entry.type !== 'symlink') continue;
      links++;
      const n = Number(entry.path.slice(-5));
      expect(Buffer.from(entry.target!).toString()).toBe(`/some/long/target/${'x'.repeat(150)}${n}`);
    }
    expect(links).toBe(6000);
    expect(opened.inodeTotals().inodes).toBe(6011);
  });

  it('xattr values are views of one decoded key/value area, however many entries share a value', async () => {
    // 200 files with distinct xattr values (a key/value area of several metadata blocks)
    // and 100 more with one shared value, which mksquashfs stores once and refers to out of line.
    const tree = join(dir, 'xattrs');
    mkdirSync(tree);
    for (let i = 0; i < 300; i++) {
      const file = join(tree, `f${i}`);
      writeFileSync(file, '');
      const value = i < 200 ? `${i}-${'v'.repeat(90)}` : 'shared-'.repeat(20);
      execFileSync('setfattr', ['-n', 'user.test', '-v', value, file]);
    }
    mksquashfs(tree, join(dir, 'xattrs.sqfs'), []);
    const opened = await SquashfsImage.open(new MemorySource(readFileSync(join(dir, 'xattrs.sqfs')), 'xattrs.sqfs'));
    const buffers = new Set<ArrayBufferLike>();
    let withValue = 0;
    for await (const entry of opened.walk()) {
      const value = entry.xattrs.get('user.test');
      if (!value) continue;
      withValue++;
      const n = Number(entry.path.slice(2));
      expect(Buffer.from(value).toString()).toBe(n < 200 ? `${n}-${'v'.repeat(90)}` : 'shared-'.repeat(20));
      buffers.add(value.buffer);
    }
    expect(withValue).toBe(300);
    expect(buffers.size).toBe(1);
  });

  it('no reader reads `view` or `bytes` in the same expression as the seek that sets them', () => {
    // `table.view.getUint32(table.seek(…))` evaluates `table.view` first: the view from
    // before the seek. Every caller must seek into a variable, then read.
    const srcDir = join(import.meta.dirname, '../../src/squashfs');
    const trap = /\.(view|bytes)\b[^;\n]*\.seek\(/;
    const offenders: string[] = [];
    let seekers = 0;
    for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.ts') && f !== 'meta-reader.ts')) {
      const lines = readFileSync(join(srcDir, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (line.includes('.seek(')) seekers++;
        if (trap.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(seekers).toBeGreaterThan(5);
    expect(offenders).toEqual([]);
  });
});

