/**
 * Native codec packages load only for images that use them: a gzip image never loads
 * @napi-rs/lzma (or lz4-napi), an xz/lzma image does. Each case runs in a fresh Node
 * process, since a module stays loaded once any test in this worker has loaded it.
 */
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT, fixturePath } from '../support/fixtures.ts';

const CHILD = `
import { createRequire } from 'node:module';
const [root, image] = process.argv.slice(1);
const { FileSource } = await import(new URL('src/source/index.ts', root));
const { SquashfsImage } = await import(new URL('src/squashfs/index.ts', root));
const sqfs = await SquashfsImage.open(await FileSource.open(image));
let bytes = 0;
for await (const { data } of sqfs.walkWithData()) if (data) for await (const c of data) bytes += c.length;
await sqfs.close();
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({ bytes, lzma: loaded.some((k) => k.includes('@napi-rs/lzma')), lz4: loaded.some((k) => k.includes('lz4-napi')) }));
`;

function load(image: string): { bytes: number; lzma: boolean; lz4: boolean } {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, pathToFileURL(`${ROOT}/`).href, fixturePath(image)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { bytes: number; lzma: boolean; lz4: boolean };
}

describe('native codec packages load on demand', () => {
  it.each([
    ['uai-rootfs-gzip.sqfs', false, false],
    ['uai-rootfs-zstd.sqfs', false, false],
    ['uai-rootfs-xz.sqfs', true, false],
    ['uai-rootfs-lzma.sqfs', true, false],
    ['uai-rootfs-lz4.sqfs', false, true],
  ])('%s: @napi-rs/lzma %s, lz4-napi %s', (image, lzma, lz4) => {
    const r = load(image);
    expect(r.bytes).toBeGreaterThan(0);
    expect({ lzma: r.lzma, lz4: r.lz4 }).toEqual({ lzma, lz4 });
  });
});
