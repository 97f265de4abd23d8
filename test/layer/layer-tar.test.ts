import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSquashfsLayer, layerTar, newLayerTarStats, type LayerTarOptions } from '../../src/layer/index.ts';
import type { Warning } from '../../src/errors.ts';
import { FakeImage, type FakeSpec } from './support/fake-image.ts';
import { collect, parseTar, type TarEntry } from './support/parse-tar.ts';

const tmp = mkdtempSync(join(tmpdir(), 'layer-tar-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const BASE: FakeSpec[] = [
  { path: '/', mode: 0o755, uid: 0, gid: 0, mtime: 1234, xattrs: { 'user.root': 'r' } },
  { path: '/etc', mode: 0o755 },
  { path: '/etc/99-slingshot-network.conf', data: 'secret' },
  { path: '/etc/hosts', data: '127.0.0.1 localhost\n', mode: 0o644 },
  { path: '/etc/motd', data: 'old motd\n' },
  { path: '/usr', mode: 0o755 },
  { path: '/usr/bin', mode: 0o755 },
  { path: '/usr/bin/a', data: 'AAAA', nlink: 2, inodeRef: 77, mode: 0o4755 },
  { path: '/usr/bin/b', data: 'AAAA', nlink: 2, inodeRef: 77, mode: 0o4755 },
  { path: '/usr/bin/ping', data: 'ping', xattrs: { 'security.capability': Uint8Array.from([1, 0, 0, 2, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) } },
  { path: '/usr/lib', mode: 0o755 },
  { path: '/usr/lib/sym', type: 'symlink', target: '../bin/a' },
  { path: '/var', mode: 0o755 },
  { path: '/var/dev', type: 'char', major: 4, minor: 64, mode: 0o620 },
  { path: '/var/blk', type: 'block', major: 8, minor: 1 },
  { path: '/var/fifo', type: 'fifo' },
  { path: '/var/sock', type: 'socket' },
];

async function tarOf(specs: FakeSpec[], options: LayerTarOptions = {}) {
  const image = new FakeImage(specs);
  const stats = newLayerTarStats();
  const bytes = await collect(layerTar(image, options, stats));
  return { image, stats, bytes, entries: parseTar(bytes) };
}

const byPath = (entries: TarEntry[]) => new Map(entries.map((e) => [e.path, e]));

describe('layerTar on hand-made entries', () => {
  it('names entries like tar -cf X.tar . and keeps every attribute', async () => {
    const warnings: Warning[] = [];
    const { entries, stats, bytes } = await tarOf(BASE, { onWarning: (w) => warnings.push(w) });
    expect(entries.map((e) => e.rawName)).toEqual([
      './', './etc/', './etc/hosts', './etc/motd', './usr/', './usr/bin/', './usr/bin/a', './usr/bin/b',
      './usr/bin/ping', './usr/lib/', './usr/lib/sym', './var/', './var/dev', './var/blk', './var/fifo',
    ]);
    const m = byPath(entries);
    expect(m.get('')).toMatchObject({ type: '5', mode: 0o755, mtime: 1234, xattrs: { 'user.root': '72' } });
    expect(m.get('usr/bin/a')).toMatchObject({ type: '0', mode: 0o4755, size: 4 });
    expect(m.get('usr/bin/b')).toMatchObject({ type: '1', linkname: './usr/bin/a', size: 0 });
    expect(m.get('usr/lib/sym')).toMatchObject({ type: '2', linkname: '../bin/a' });
    expect(m.get('var/dev')).toMatchObject({ type: '3', devmajor: 4, devminor: 64, mode: 0o620 });
    expect(m.get('var/blk')).toMatchObject({ type: '4', devmajor: 8, devminor: 1 });
    expect(m.get('var/fifo')).toMatchObject({ type: '6' });
    expect(m.get('usr/bin/ping')!.xattrs['security.capability']).toBe('0100000200200000000000000000000000000000');
    expect(warnings.map((w) => w.code)).toEqual(['UAI_LAYER_SOCKET_SKIPPED']);
    expect(stats.skipped).toEqual([
      { path: '/etc/99-slingshot-network.conf', reason: 'excluded', pattern: '99-slingshot-network.conf' },
      { path: '/var/sock', reason: 'socket' },
    ]);
    expect(stats.entries).toBe(entries.length);
    expect(bytes.length % 512).toBe(0);
    expect(bytes.subarray(-1024).every((b) => b === 0)).toBe(true);
    // magic ustar\0 00, empty uname/gname
    expect(bytes.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');
    expect(bytes.subarray(265, 329).every((b) => b === 0)).toBe(true);
  });

  it('GNU tar lists the archive without complaint', async () => {
    const { bytes } = await tarOf(BASE);
    const file = join(tmp, 'base.tar');
    writeFileSync(file, bytes);
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' });
    expect(listing).toMatch(/^hrwsr-xr-x 0\/0 +0 .* \.\/usr\/bin\/b link to \.\/usr\/bin\/a$/m);
    expect(listing).toMatch(/^crw--w---- 0\/0 +4,64 .* \.\/var\/dev$/m);
    expect(listing.trim().split('\n')).toHaveLength(15);
  });

  it('is byte-identical across runs and the Layer learns digest and size', async () => {
    const image = new FakeImage(BASE);
    const layer = createSquashfsLayer(image);
    expect(() => layer.diffId()).toThrow(expect.objectContaining({ code: 'UAI_LAYER_NOT_COMPUTED' }));
    expect(() => layer.size()).toThrow(expect.objectContaining({ code: 'UAI_LAYER_NOT_COMPUTED' }));
    const a = await collect(layer.open());
    const b = await collect(layer.open());
    expect(Buffer.compare(a, b)).toBe(0);
    const { createHash } = await import('node:crypto');
    expect(layer.diffId()).toBe(`sha256:${createHash('sha256').update(a).digest('hex')}`);
    expect(layer.digest()).toBe(layer.diffId());
    expect(layer.size()).toBe(a.length);
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(layer.stats().entries).toBe(15);
  });

  it('fails a second stream that does not regenerate the same bytes', async () => {
    const image = new FakeImage([{ path: '/' }, { path: '/f', data: 'abc' }]);
    const layer = createSquashfsLayer(image);
    await collect(layer.open());
    const first = layer.diffId();
    (image.entries[1] as { mtime: number }).mtime += 1;
    await expect(collect(layer.open())).rejects.toMatchObject({ code: 'UAI_LAYER_NOT_DETERMINISTIC' });
    expect(layer.diffId()).toBe(first);
  });

  it('reads no data for excluded files, pruned subtrees and hard-link repeats', async () => {
    const { image, entries, stats } = await tarOf(BASE, { exclude: ['/usr/bin', 'fifo'] });
    expect(image.dataRead).toEqual(['/etc/hosts', '/etc/motd']);
    expect(entries.some((e) => e.path.startsWith('usr/bin'))).toBe(false);
    expect(entries.some((e) => e.path === 'var/fifo')).toBe(false);
    expect(stats.skipped.map((s) => s.path)).toContain('/usr/bin');
  });

  it('lets the next kept name of an inode carry the data when the first is excluded', async () => {
    const { entries } = await tarOf(BASE, { exclude: ['usr/bin/a'] });
    const b = byPath(entries).get('usr/bin/b')!;
    expect(b).toMatchObject({ type: '0', size: 4 });
    expect(byPath(entries).has('usr/bin/a')).toBe(false);
  });

  it('keeps the default exclude only when asked', async () => {
    const { entries } = await tarOf(BASE, { defaultExcludes: false });
    expect(byPath(entries).get('etc/99-slingshot-network.conf')).toMatchObject({ type: '0', size: 6 });
  });

  it('refuses whiteout names unless allowed', async () => {
    const specs: FakeSpec[] = [{ path: '/' }, { path: '/etc' }, { path: '/etc/.wh.foo', data: 'x' }];
    await expect(tarOf(specs)).rejects.toMatchObject({ code: 'UAI_LAYER_WHITEOUT_NAME', details: { path: '/etc/.wh.foo' } });
    const { entries } = await tarOf(specs, { allowWhiteoutNames: true });
    expect(entries.map((e) => e.path)).toContain('etc/.wh.foo');
  });

  it('fails when the data does not match the inode size', async () => {
    const image = new FakeImage([{ path: '/' }, { path: '/f', data: 'abc' }]);
    (image.entries[1] as { size: number }).size = 5;
    await expect(collect(layerTar(image))).rejects.toMatchObject({ code: 'UAI_LAYER_SIZE_MISMATCH' });
  });

  it('stops at an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(collect(layerTar(new FakeImage(BASE), { signal: controller.signal }))).rejects.toThrow('stop');
  });
});
