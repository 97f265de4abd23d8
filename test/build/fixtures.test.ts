/**
 * build() over the committed uai-rootfs fixtures: the same tree squashed with every
 * compressor (and block size) must give the same layer (diff_id) and, with the same
 * origin string, the same image.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build } from '../../src/build/index.ts';
import { FileSource } from '../../src/source/file.ts';
import { fixtures } from '../support/fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'uai-build-fixtures-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const uaiRootfs = fixtures().filter((f) => f.name.startsWith('uai-rootfs-'));

describe('build() over the uai-rootfs fixtures', () => {
  it('covers every compressor', () => {
    expect(new Set(uaiRootfs.map((f) => f.compressor))).toEqual(new Set(['gzip', 'lzma', 'lzo', 'xz', 'lz4', 'zstd']));
  });

  it('gives one diff_id for one tree, whatever the compressor; one manifest for one origin', async () => {
    const layout = join(work, 'layout');
    const results = [];
    for (const f of uaiRootfs) {
      // A ByteSource named alike, so origin (annotation, history) is the same for all.
      const source = await FileSource.open(f.path);
      Object.defineProperty(source, 'name', { value: 'uai-rootfs.sqfs' });
      try {
        results.push(await build({ source, destinations: [`oci:${layout}:${f.name.replace(/\.sqfs$/, '')}`], environment: {} }));
      } finally {
        await source.close();
      }
    }
    expect(new Set(results.map((r) => r.layer.diffId)).size).toBe(1);
    expect(new Set(results.map((r) => r.manifestDigest)).size).toBe(1);
    expect(results[0]!.architecture).toBe('amd64');
    expect(results[0]!.created).toBe('2023-11-14T22:13:20Z');
  });

  it('unpacks (umoci) to the tree unsquashfs sees, minus the default exclude', async () => {
    const f = uaiRootfs.find((x) => x.compressor === 'xz')!;
    const layout = join(work, 'one');
    await build({ source: f.path, destinations: [`oci:${layout}:t`], environment: {} });
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, join(work, 'bundle')], { stdio: 'pipe' });
    const listed = (root: string, rel = ''): string[] =>
      readdirSync(join(root, rel)).flatMap((name) => {
        const p = rel ? `${rel}/${name}` : name;
        return lstatSync(join(root, p)).isDirectory() ? [p, ...listed(root, p)] : [p];
      });
    const ours = listed(join(work, 'bundle/rootfs')).sort();
    const extracted = join(work, 'unsquashed');
    execFileSync('unsquashfs', ['-d', extracted, '-no-xattrs', f.path], { stdio: 'pipe' });
    const theirs = listed(extracted)
      .filter((p) => !p.endsWith('99-slingshot-network.conf'))
      .sort();
    expect(ours).toEqual(theirs);
  });
});
