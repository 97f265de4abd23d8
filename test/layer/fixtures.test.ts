/**
 * Every committed fixture image (fixtures/images/MANIFEST: all compressors, block sizes,
 * fragment modes, an uncompressed one, a compute-node-like rootfs): our layer equals
 * `sqfs2tar --root-becomes .` entry for entry, in the same order.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../../src/source/index.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { createSquashfsLayer, type SquashfsLayerOptions } from '../../src/layer/index.ts';
import { fixtures } from '../support/fixtures.ts';
import { collect, parseTar, type TarEntry } from './support/parse-tar.ts';

async function ours(path: string, options: SquashfsLayerOptions) {
  const image = await SquashfsImage.open(await FileSource.open(path));
  try {
    const layer = createSquashfsLayer(image, options);
    const bytes = await collect(layer.open());
    return { entries: parseTar(bytes), layer };
  } finally {
    await image.close();
  }
}

function reference(path: string): TarEntry[] {
  return parseTar(execFileSync('sqfs2tar', ['--root-becomes', '.', path], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }));
}

function view(e: TarEntry) {
  return [e.path, e.type, e.mode.toString(8), e.uid, e.gid, e.mtime, e.size, e.sha256, e.type === '1' ? e.linkname.replace(/^\.\//, '') : e.linkname, e.devmajor, e.devminor, JSON.stringify(Object.entries(e.xattrs).sort())].join(' ');
}

describe('layer of every fixture equals sqfs2tar --root-becomes .', () => {
  const all = fixtures();
  it('has fixtures to check', () => {
    expect(all.length).toBeGreaterThanOrEqual(10);
  });
  for (const fixture of all) {
    it(fixture.name, async () => {
      const { entries, layer } = await ours(fixture.path, { defaultExcludes: false, allowWhiteoutNames: true });
      const ref = reference(fixture.path);
      expect(entries.map(view)).toEqual(ref.map(view));
      // Sockets are the only entries sqfs2tar and we leave out.
      expect(layer.stats().skipped.every((s) => s.reason === 'socket')).toBe(true);
    });
  }

  it('drops the Slingshot network config from the compute rootfs by default, and nothing else', async () => {
    const rootfs = all.find((f) => f.name.startsWith('uai-rootfs'))!;
    const { entries, layer } = await ours(rootfs.path, {});
    const ref = reference(rootfs.path);
    const dropped = ref.filter((e) => !entries.some((x) => x.path === e.path)).map((e) => e.path);
    expect(dropped).toEqual(['etc/security/limits.d/99-slingshot-network.conf']);
    expect(entries.map(view)).toEqual(ref.filter((e) => !e.path.endsWith('/99-slingshot-network.conf')).map(view));
    expect(layer.stats().skipped).toEqual([
      { path: '/etc/security/limits.d/99-slingshot-network.conf', reason: 'excluded', pattern: '99-slingshot-network.conf' },
    ]);
  });
});
