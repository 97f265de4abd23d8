import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLargeTree, writeRootfsTree } from '../../bench/tree.ts';

const work = mkdtempSync(join(tmpdir(), 'uai-bench-tree-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every entry: path, type, mode, owner, size, mtime, link target or content hash. */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      const what = st.isSymbolicLink()
        ? `-> ${readlinkSync(join(root, path))}`
        : st.isFile()
          ? createHash('sha256').update(readFileSync(join(root, path))).digest('hex').slice(0, 16)
          : 'dir';
      out.push(`${path} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.isSymbolicLink() ? '' : Math.floor(st.mtimeMs / 1000)} ${what}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

describe('bench/tree', () => {
  it('writes the same rootfs-like tree twice from one seed, with the entries it reports', () => {
    const a = writeRootfsTree(join(work, 'a'), { entries: 600, seed: 11 });
    const b = writeRootfsTree(join(work, 'b'), { entries: 600, seed: 11 });
    expect(b).toEqual(a);
    const la = listing(join(work, 'a'));
    expect(listing(join(work, 'b'))).toEqual(la);
    expect(la).toHaveLength(a.entries);
    expect(a.entries).toBe(600);
    expect(la.filter((l) => l.includes(' -> ')).length).toBe(a.symlinks);
    expect(la.filter((l) => l.endsWith(' dir')).length).toBe(a.dirs);
    // The files the seed procedure and the image stage look for.
    expect(la.some((l) => l.startsWith('usr/bin/uai-ssh.sh '))).toBe(true);
    expect(la.some((l) => l.startsWith('usr/bin/sh ') && l.endsWith('-> bash'))).toBe(true);
    expect(la.some((l) => l.includes('/99-slingshot-network.conf '))).toBe(true);
    expect(readFileSync(join(work, 'a', 'usr/bin/bash')).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    // A different seed gives a different tree.
    writeRootfsTree(join(work, 'c'), { entries: 600, seed: 12 });
    expect(listing(join(work, 'c'))).not.toEqual(la);
  });

  it('gives the rootfs tree xattrs, file capabilities, hard links and other owners', () => {
    const stats = writeRootfsTree(join(work, 'x'), { entries: 1500, seed: 5 });
    const dump = execFileSync('getfattr', ['-R', '-h', '-d', '-m', '-', '--absolute-names', join(work, 'x')], { encoding: 'utf8' });
    expect(dump).toContain('user.bench.note=');
    expect(dump).toContain('security.capability=');
    expect(stats.xattrFiles).toBeGreaterThan(3);
    expect(stats.hardlinks).toBe(15);
    const lines = listing(join(work, 'x'));
    expect(lines.some((l) => / 1\d\d\d:1\d\d\d /.test(l))).toBe(true);
    const sizes = lines.filter((l) => !l.includes(' -> ') && !l.endsWith(' dir')).map((l) => Number(l.split(' ')[3]));
    // A spread of sizes, not one size: empty files, small files, and some over 64 KiB.
    expect(sizes.filter((s) => s === 0).length).toBeGreaterThan(0);
    expect(sizes.filter((s) => s > 0 && s < 4096).length).toBeGreaterThan(sizes.length / 4);
    expect(sizes.filter((s) => s > 65536).length).toBeGreaterThan(0);
  });

  it('writes large files that compress moderately (not zeros, not random)', () => {
    const stats = writeLargeTree(join(work, 'large'), { bytes: 6 * 2 ** 20, seed: 2 });
    expect(stats.fileBytes).toBeGreaterThanOrEqual(6 * 2 ** 20);
    const file = join(work, 'large', 'data', readdirSync(join(work, 'large', 'data'))[0]!);
    const raw = readFileSync(file);
    const packed = execFileSync('gzip', ['-c', file]).length;
    expect(raw.length / packed).toBeGreaterThan(1.4);
    expect(raw.length / packed).toBeLessThan(8);
  });
});
