/**
 * `SquashfsImage.open` offers `limits.decodedTableBytes` to the inode table first and
 * the rest to the directory table: a table kept decoded is never decoded again by a walk.
 * Counted through the image's own decompressor (the codec module is wrapped here, so the
 * test sees every metadata block a walk decodes).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemorySource } from '../../src/source/index.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import type { Decompressor } from '../../src/squashfs/compression/index.ts';
import { decodedTables, mksquashfs } from '../support/fixtures.ts';

const counter = vi.hoisted(() => ({ metadataCalls: 0 }));

vi.mock('../../src/squashfs/codec.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/squashfs/codec.ts')>();
  return {
    ...real,
    loadDecompressor(...args: Parameters<typeof real.loadDecompressor>): Decompressor {
      const inner = real.loadDecompressor(...args);
      return {
        name: inner.name,
        decompressSync(input, maxOutput) {
          counter.metadataCalls++;
          return inner.decompressSync(input, maxOutput);
        },
        decompress: (input, maxOutput) => inner.decompress(input, maxOutput),
        close: () => inner.close?.(),
      };
    },
  };
});

let dir: string;
let image: Buffer;
let inodeBytes: number;
let directoryBytes: number;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'uai-kept-tables-'));
  mkdirSync(join(dir, 'empty'));
  // Symlinks with long targets fill the inode table (~150 blocks); 300 directories of
  // 20 long names each give the directory table several blocks of its own.
  const lines: string[] = [];
  for (let d = 0; d < 300; d++) lines.push(`dir${d} d 755 0 0`);
  for (let i = 0; i < 6000; i++) lines.push(`dir${i % 300}/a-rather-long-link-name-${String(i).padStart(5, '0')} s 777 0 0 /target/${'x'.repeat(150)}${i}`);
  writeFileSync(join(dir, 'pseudo.txt'), lines.join('\n') + '\n');
  mksquashfs(join(dir, 'empty'), join(dir, 'tables.sqfs'), ['-pf', join(dir, 'pseudo.txt')]);
  image = readFileSync(join(dir, 'tables.sqfs'));
  const tables = decodedTables(image);
  inodeBytes = tables.inodes.length;
  directoryBytes = tables.directories.length;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Metadata blocks decoded by one walk after `open` with `decodedTableBytes` (default when undefined), and the paths seen. */
async function walkCalls(decodedTableBytes: number | undefined): Promise<{ calls: number; paths: string[] }> {
  const opened = await SquashfsImage.open(new MemorySource(image, 'tables.sqfs'), decodedTableBytes === undefined ? {} : { limits: { decodedTableBytes } });
  counter.metadataCalls = 0;
  const paths: string[] = [];
  for await (const entry of opened.walk()) paths.push(`${entry.path} ${entry.target ? Buffer.from(entry.target).toString() : ''}`);
  const calls = counter.metadataCalls;
  await opened.close();
  return { calls, paths };
}

describe('the tables SquashfsImage keeps decoded', () => {
  it('both tables within the default budget: a walk decodes no metadata block', async () => {
    expect(inodeBytes + directoryBytes).toBeLessThan(8 * 1024 * 1024);
    expect(inodeBytes).toBeGreaterThan(100 * 8192);
    expect(directoryBytes).toBeGreaterThan(8 * 8192);
    expect(directoryBytes).toBeLessThan(inodeBytes);
    const kept = await walkCalls(undefined);
    const none = await walkCalls(0);
    expect(kept.calls).toBe(0);
    expect(none.calls).toBeGreaterThan(100);
    expect(kept.paths).toEqual(none.paths);
    expect(kept.paths).toHaveLength(6301);
  });

  it('the inode table is offered the budget first; the directory table gets what is left', async () => {
    const none = await walkCalls(0);
    // Room for the inode table only: the walk decodes directory blocks, and no inode block.
    const inodesOnly = await walkCalls(inodeBytes + directoryBytes - 1);
    // Room for the directory table only (the inode table is larger): it decodes inode blocks only.
    const directoriesOnly = await walkCalls(directoryBytes);
    expect(inodesOnly.calls).toBeGreaterThan(0);
    expect(directoriesOnly.calls).toBeGreaterThan(0);
    expect(inodesOnly.calls + directoriesOnly.calls).toBe(none.calls);
    expect(directoriesOnly.calls).toBeGreaterThan(inodesOnly.calls);
    expect(inodesOnly.paths).toEqual(none.paths);
    expect(directoriesOnly.paths).toEqual(none.paths);
  });
});
