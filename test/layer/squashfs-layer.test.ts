/**
 * The layer of real SquashFS images (mksquashfs, several compressors) against the
 * reference converter `sqfs2tar --root-becomes .`, compared as sets of entries, then
 * checked by GNU tar (list and extract with xattrs) and tar-stream.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extract } from 'tar-stream';
import { FileSource } from '../../src/source/index.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { createSquashfsLayer, type SquashfsLayerOptions } from '../../src/layer/index.ts';
import type { Warning } from '../../src/errors.ts';
import { mksquashfs } from '../support/fixtures.ts';
import { buildRichTree, buildWhiteoutTree } from './support/trees.ts';
import { collect, parseTar, type TarEntry } from './support/parse-tar.ts';

const tmp = mkdtempSync(join(tmpdir(), 'layer-sqfs-'));
let tree: string;
const images: Record<string, string> = {};
const COMPRESSORS = ['gzip', 'xz', 'zstd', 'lz4'];

beforeAll(() => {
  tree = buildRichTree(tmp);
  for (const comp of COMPRESSORS) {
    images[comp] = join(tmp, `rich-${comp}.sqfs`);
    mksquashfs(tree, images[comp], ['-comp', comp, '-b', '65536']);
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function ourTar(image: string, options: SquashfsLayerOptions = {}) {
  const sqfs = await SquashfsImage.open(await FileSource.open(image));
  try {
    const layer = createSquashfsLayer(sqfs, options);
    const bytes = await collect(layer.open());
    return { bytes, layer, entries: parseTar(bytes) };
  } finally {
    await sqfs.close();
  }
}

function referenceTar(image: string): TarEntry[] {
  const bytes = execFileSync('sqfs2tar', ['--root-becomes', '.', image], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  return parseTar(bytes);
}

/** What must be equal, as a sorted list (a set of entries). */
function canonical(entries: TarEntry[]) {
  return entries
    .map((e) => ({
      path: e.path,
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      mtime: e.mtime,
      size: e.size,
      sha256: e.sha256,
      link: e.type === '1' ? e.linkname.replace(/^\.\//, '') : e.linkname,
      dev: `${e.devmajor}:${e.devminor}`,
      xattrs: Object.fromEntries(Object.entries(e.xattrs).sort()),
    }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const name = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/**
 * The reference with some entries dropped, the way excluding them must look: a hard link
 * whose target was dropped becomes the inode's data carrier, later links point at it.
 */
function filterReference(ref: TarEntry[], keep: (e: TarEntry) => boolean): TarEntry[] {
  const byPath = new Map(ref.map((e) => [e.path, e]));
  const moved = new Map<string, string>(); // dropped target path → new carrier's archive name
  const out: TarEntry[] = [];
  for (const e of ref) {
    if (!keep(e)) continue;
    if (e.type !== '1') {
      out.push(e);
      continue;
    }
    const target = e.linkname.replace(/^\.\//, '');
    const original = byPath.get(target)!;
    if (keep(original)) {
      out.push(e);
    } else if (moved.has(target)) {
      out.push({ ...e, linkname: moved.get(target)! });
    } else {
      moved.set(target, `./${e.path}`);
      out.push({ ...original, path: e.path, rawName: e.rawName });
    }
  }
  return out;
}

describe('layer of a real SquashFS', () => {
  for (const comp of COMPRESSORS) {
    it(`equals sqfs2tar --root-becomes . entry for entry (${comp})`, async () => {
      const warnings: Warning[] = [];
      const { entries } = await ourTar(images[comp]!, { defaultExcludes: false, onWarning: (w) => warnings.push(w) });
      const ref = referenceTar(images[comp]!);
      expect(ref.length).toBeGreaterThan(25);
      expect(canonical(entries)).toEqual(canonical(ref));
      // Same DFS order too, and the same hard-link grouping.
      expect(entries.map((e) => e.path)).toEqual(ref.map((e) => e.path));
      expect(entries.filter((e) => e.type === '1').map((e) => `${e.path}->${e.linkname}`)).toEqual(
        ref.filter((e) => e.type === '1').map((e) => `${e.path}->./${e.linkname.replace(/^\.\//, '')}`),
      );
      expect(warnings.map((w) => `${w.code} ${String(w.details?.path)}`)).toEqual(['UAI_LAYER_SOCKET_SKIPPED /d/sock']);
    });
  }

  it('covers the edge cases (checks the fixture, so the comparison above means something)', async () => {
    const { entries } = await ourTar(images.gzip!, { defaultExcludes: false });
    const m = new Map(entries.map((e) => [e.path, e]));
    expect(m.get('')).toMatchObject({ rawName: './', type: '5', xattrs: { 'user.rootattr': Buffer.from('on-the-root').toString('hex') } });
    expect(m.get('d/a')!.xattrs['user.nul']).toBe('610062');
    expect(m.get('d/a')!.xattrs['user.big']!.length).toBe(2 * 1536);
    expect(m.get('d/ping')!.xattrs['security.capability']).toMatch(/^01000002/);
    expect(m.get('d/sub/owned')).toMatchObject({ uid: 1000, gid: 2_097_152, pax: { gid: '2097152' } });
    expect(m.get('d/n\xe9\xff.bin')).toMatchObject({ size: 5 });
    expect([...m.keys()].some((p) => p.length > 255)).toBe(true);
    expect(m.get(`d/${'L'.repeat(150)}`)!.pax.path).toBeDefined();
    expect(m.get('d/longsym')!.pax.linkpath).toBe(`../${'t'.repeat(180)}`);
    expect(m.get('d/hl')).toMatchObject({ type: '1', linkname: './d/a' });
    // d/000… sorts before d/deep-hl, so the deep name carries the data and the link needs a PAX linkpath.
    const deepFile = [...m.keys()].find((p) => p.endsWith('/deep-file'))!;
    expect(m.get(deepFile)).toMatchObject({ type: '0', size: 5 });
    expect(m.get('d/deep-hl')).toMatchObject({ type: '1', linkname: `./${deepFile}` });
    expect(m.get('d/deep-hl')!.pax.linkpath).toBe(`./${deepFile}`);
    expect(m.get('d/hl')!.xattrs).toEqual({});
    expect(m.get('d/sparse')).toMatchObject({ size: 1 << 20, sha256: createHash('sha256').update(Buffer.alloc(1 << 20)).digest('hex') });
    expect(m.has('d/sock')).toBe(false);
  });

  it('applies the default excludes and globs like filtering the reference', async () => {
    const ref = referenceTar(images.zstd!);
    const { entries: defaults, layer } = await ourTar(images.zstd!);
    expect(canonical(defaults)).toEqual(canonical(filterReference(ref, (e) => name(e.path) !== '99-slingshot-network.conf')));
    expect(layer.stats().skipped).toEqual([
      { path: '/d/sock', reason: 'socket' },
      { path: '/etc/NetworkManager/conf.d/99-slingshot-network.conf', reason: 'excluded', pattern: '99-slingshot-network.conf' },
    ]);
    const { entries } = await ourTar(images.zstd!, { exclude: ['/var/cache', '*.pyc', 'd/0*'] });
    const expected = filterReference(
      ref,
      (e) =>
        name(e.path) !== '99-slingshot-network.conf' &&
        !e.path.startsWith('var/cache') &&
        !e.path.endsWith('.pyc') &&
        !e.path.startsWith('d/0'),
    );
    expect(canonical(entries)).toEqual(canonical(expected));
    // The deep file was the first name of its inode: its other name now carries the data.
    expect(entries.find((e) => e.path === 'd/deep-hl')).toMatchObject({ type: '0', size: 5 });
  });

  it('injects and replaces files in a real image', async () => {
    const src = join(tmp, 'motd');
    writeFileSync(src, 'welcome to the UAI\n', { mode: 0o640 });
    const { entries } = await ourTar(images.xz!, {
      add: [
        { dest: '/etc/motd', content: { path: src } },
        { dest: '/opt/cray/uai/setup.sh', content: new TextEncoder().encode('#!/bin/sh\n'), mode: 0o755 },
      ],
    });
    const sqfs = await SquashfsImage.open(await FileSource.open(images.xz!));
    const mkfs = sqfs.superblock.mkfsTime;
    await sqfs.close();
    const paths = entries.map((e) => e.path);
    expect(paths.indexOf('opt')).toBeGreaterThan(paths.indexOf('etc/motd'));
    expect(paths.slice(paths.indexOf('opt'), paths.indexOf('opt') + 4)).toEqual(['opt', 'opt/cray', 'opt/cray/uai', 'opt/cray/uai/setup.sh']);
    expect(paths.indexOf('var')).toBeGreaterThan(paths.indexOf('opt/cray/uai/setup.sh'));
    const motd = entries.filter((e) => e.path === 'etc/motd');
    expect(motd).toHaveLength(1);
    expect(motd[0]).toMatchObject({ mode: 0o640, uid: 0, gid: 0, mtime: mkfs, sha256: createHash('sha256').update('welcome to the UAI\n').digest('hex') });
    expect(entries.find((e) => e.path === 'opt/cray')).toMatchObject({ type: '5', mode: 0o755, mtime: mkfs });
  });

  it('is byte-identical across opens and across layers, and knows its diff_id', async () => {
    const sqfs = await SquashfsImage.open(await FileSource.open(images.gzip!));
    try {
      const layer = createSquashfsLayer(sqfs, { exclude: ['*.pyc'] });
      expect(() => layer.digest()).toThrow(expect.objectContaining({ code: 'UAI_LAYER_NOT_COMPUTED' }));
      const a = await collect(layer.open());
      const b = await collect(layer.open());
      expect(a.equals(b)).toBe(true);
      expect(layer.diffId()).toBe(`sha256:${createHash('sha256').update(a).digest('hex')}`);
      expect(layer.size()).toBe(a.length);
      const again = await ourTar(images.gzip!, { exclude: ['*.pyc'] });
      expect(again.bytes.equals(a)).toBe(true);
    } finally {
      await sqfs.close();
    }
  });

  it('GNU tar extracts it as root with the same xattrs and capabilities as the source tree', async () => {
    const { bytes } = await ourTar(images.gzip!);
    const file = join(tmp, 'layer.tar');
    writeFileSync(file, bytes);
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'latin1' });
    expect(listing).toMatch(/^drwxr-xr-x 3000000\/3000001 .* \.\/d\/sub\/$/m);
    expect(listing).toMatch(/^brw-r--r-- 0\/0 +8,1 .* \.\/d\/bdev$/m);
    const out = join(tmp, 'extract');
    mkdirSync(out);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', file, '-C', out]);
    expect(execFileSync('getcap', [join(out, 'd/ping')], { encoding: 'utf8' })).toMatch(/cap_net_raw[=+]ep/);
    for (const rel of ['d/a', 'd/ping', '.']) {
      const attrs = (root: string) =>
        execFileSync('getfattr', ['-d', '-m-', '-e', 'hex', '--absolute-names', join(root, rel)], { encoding: 'utf8' })
          .split('\n')
          .filter((l) => l.includes('='))
          .sort();
      expect(attrs(out)).toEqual(attrs(tree));
    }
    expect(execFileSync('stat', ['-c', '%u:%g %a', join(out, 'd/sub/owned')], { encoding: 'utf8' }).trim()).toBe('1000:2097152 644');
    expect(execFileSync('stat', ['-c', '%i %h', join(out, 'd/a')], { encoding: 'utf8' }).split(' ')[1]!.trim()).toBe('3');
    expect(readFileSync(Buffer.from(join(out, 'd', 'n\xe9\xff.bin'), 'latin1'), 'utf8')).toBe('latin');
  });

  it('tar-stream reads the same entries', async () => {
    const { bytes, entries } = await ourTar(images.lz4!);
    const seen: Array<{ name: string; type: string; size: number }> = [];
    const ex = extract({ filenameEncoding: 'latin1' } as never);
    ex.on('entry', (header, stream, next) => {
      seen.push({ name: header.name, type: header.type ?? '', size: header.size ?? 0 });
      stream.on('end', next);
      stream.resume();
    });
    await new Promise<void>((resolve, reject) => {
      ex.on('finish', resolve);
      ex.on('error', reject);
      Readable.from([bytes]).pipe(ex);
    });
    const typeOf: Record<string, string> = { '0': 'file', '1': 'link', '2': 'symlink', '3': 'character-device', '4': 'block-device', '5': 'directory', '6': 'fifo' };
    expect(seen).toEqual(entries.map((e) => ({ name: e.rawName, type: typeOf[e.type], size: e.size })));
  });

  it('stops reading when aborted mid-stream', async () => {
    const sqfs = await SquashfsImage.open(await FileSource.open(images.gzip!));
    try {
      const controller = new AbortController();
      const layer = createSquashfsLayer(sqfs, { chunkSize: 4096 });
      let chunks = 0;
      const consume = async () => {
        for await (const _ of layer.open({ signal: controller.signal })) {
          if (++chunks === 2) controller.abort(new Error('user stop'));
        }
      };
      await expect(consume()).rejects.toThrow('user stop');
      expect(chunks).toBeLessThan(10);
      expect(() => layer.size()).toThrow(expect.objectContaining({ code: 'UAI_LAYER_NOT_COMPUTED' }));
    } finally {
      await sqfs.close();
    }
  });

  it('refuses whiteout names in a real image unless allowed', async () => {
    const img = join(tmp, 'wh.sqfs');
    mksquashfs(buildWhiteoutTree(tmp), img, []);
    await expect(ourTar(img)).rejects.toMatchObject({ code: 'UAI_LAYER_WHITEOUT_NAME', details: { path: '/etc/.wh.x' } });
    const { entries } = await ourTar(img, { allowWhiteoutNames: true });
    expect(entries.map((e) => e.path)).toEqual(['', 'etc', 'etc/.wh.x', 'etc/y']);
  });
});
