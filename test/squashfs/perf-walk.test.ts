/**
 * Behaviour of the walk's allocation shortcuts (docs/performance.md): paths cut from
 * shared slabs must stay intact and independent after the walk moves on, and error texts
 * that are now built only on failure must still name the inode and field.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySource } from '../../src/source/index.ts';
import { SquashfsImage, SquashfsError, type Entry } from '../../src/squashfs/index.ts';
import { ByteSlab } from '../../src/squashfs/byte-slab.ts';

let dir: string;
let image: Uint8Array;
let expectedPaths: string[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'uai-perf-walk-'));
  const tree = join(dir, 'tree');
  expectedPaths = [];
  // Long names (paths of 80-400 bytes) in nested directories: more than 128 KiB of path
  // bytes in total, so they span several slabs.
  for (let d = 0; d < 12; d++) {
    const sub = join(`dir-${String(d).padStart(2, '0')}-${'d'.repeat(60)}`, `inner-${'i'.repeat(40 + d)}`);
    mkdirSync(join(tree, sub), { recursive: true });
    for (let f = 0; f < 60; f++) {
      const name = `file-${String(f).padStart(3, '0')}-${'x'.repeat((f * 7) % 120)}`;
      writeFileSync(join(tree, sub, name), `${d}/${f}\n`);
      expectedPaths.push(`/${sub}/${name}`);
    }
  }
  const out = join(dir, 'img.sqfs');
  execFileSync('mksquashfs', [tree, out, '-noappend', '-quiet', '-no-progress', '-all-root', '-noI']);
  image = readFileSync(out);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('walk with slab-allocated paths', () => {
  it('keeps every rawPath equal to its path after the walk has moved on, and the bytes independent', async () => {
    const img = await SquashfsImage.open(new MemorySource(image));
    const entries: Entry[] = [];
    for await (const e of img.walk()) entries.push(e);
    const files = entries.filter((e) => e.type === 'file');
    expect(files.map((e) => e.path).sort()).toEqual([...expectedPaths].sort());
    const decoder = new TextDecoder();
    let pathBytes = 0;
    for (const e of entries) {
      expect(decoder.decode(e.rawPath)).toBe(e.path === '/' ? '' : e.path.slice(1));
      expect(decoder.decode(e.rawName)).toBe(e.path === '/' ? '' : e.path.slice(e.path.lastIndexOf('/') + 1));
      pathBytes += e.rawPath.length;
    }
    expect(pathBytes).toBeGreaterThan(2 * 64 * 1024);
    // Writing into one entry's path must not show up in any other entry's path.
    const victim = files[files.length - 1]!;
    const before = entries.map((e) => decoder.decode(e.rawPath));
    const saved = victim.rawPath.slice();
    (victim.rawPath as Uint8Array).fill(0x21);
    entries.forEach((e, i) => {
      if (e !== victim) expect(decoder.decode(e.rawPath)).toBe(before[i]);
    });
    (victim.rawPath as Uint8Array).set(saved);
    // A second walk gives equal paths in fresh memory.
    let i = 0;
    for await (const e of img.walk()) {
      expect(e.rawPath).toEqual(entries[i]!.rawPath);
      if (e.rawPath.length > 0) expect(e.rawPath.buffer).not.toBe(entries[i]!.rawPath.buffer);
      i++;
    }
    expect(i).toBe(entries.length);
  });

  it('ByteSlab hands out disjoint views, and large strings their own buffer', () => {
    const slab = new ByteSlab();
    const views: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++) {
      const v = slab.alloc(1 + (i % 200));
      v.fill(i & 0xff);
      views.push(v);
    }
    views.forEach((v, i) => expect(v.every((b) => b === (i & 0xff))).toBe(true));
    expect(new Set(views.map((v) => v.buffer)).size).toBeGreaterThan(1);
    const big = slab.alloc(10_000);
    expect(big.byteLength).toBe(10_000);
    expect(big.buffer.byteLength).toBe(10_000);
    expect(slab.alloc(0).length).toBe(0);
  });

  it('still names the inode and the field when an id index is out of range', async () => {
    // -noI: the inode table is stored uncompressed; patch the first inode's uid index.
    const patched = image.slice();
    const view = new DataView(patched.buffer);
    const inodeTable = Number(view.getBigUint64(64, true));
    expect(view.getUint16(inodeTable, true) & 0x8000).not.toBe(0); // uncompressed metadata block
    const inodeNumber = view.getUint32(inodeTable + 2 + 12, true);
    view.setUint16(inodeTable + 2 + 4, 0xfff0, true);
    const img = await SquashfsImage.open(new MemorySource(patched));
    let caught: unknown;
    try {
      for await (const _ of img.walk()) void _;
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SquashfsError);
    expect((caught as SquashfsError).code).toBe('UAI_SQFS_OUT_OF_BOUNDS');
    expect((caught as SquashfsError).message).toContain(`inode ${inodeNumber} uid: id index 65520 is not below the id count 1`);
  });
});
