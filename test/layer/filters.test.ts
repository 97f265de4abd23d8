import { describe, expect, it } from 'vitest';
import { ExcludeFilter, globToRegExp } from '../../src/layer/filters.ts';
import { layerTar } from '../../src/layer/index.ts';
import { FakeImage } from './support/fake-image.ts';
import { collect, parseTar } from './support/parse-tar.ts';

const enc = new TextEncoder();
function e(path: string | Uint8Array) {
  const raw = typeof path === 'string' ? enc.encode(path) : path;
  const slash = raw.lastIndexOf(0x2f);
  return { rawPath: raw, rawName: raw.subarray(slash + 1), depth: raw.length === 0 ? 0 : raw.filter((b) => b === 0x2f).length + 1 };
}

describe('ExcludeFilter', () => {
  it('drops the Slingshot network config at any depth by default, and only by its exact name', () => {
    const f = new ExcludeFilter();
    expect(f.match(e('etc/NetworkManager/conf.d/99-slingshot-network.conf'))).toBe('99-slingshot-network.conf');
    expect(f.match(e('99-slingshot-network.conf'))).toBe('99-slingshot-network.conf');
    expect(f.match(e('etc/99-slingshot-network.conf.bak'))).toBeUndefined();
    expect(f.match(e('etc/x99-slingshot-network.conf'))).toBeUndefined();
    expect(new ExcludeFilter({ defaultExcludes: false }).match(e('etc/99-slingshot-network.conf'))).toBeUndefined();
  });

  it('matches a pattern without a slash against names, with a slash against the whole path', () => {
    const f = new ExcludeFilter({ exclude: ['*.pyc', '/var/cache', './tmp/*', 'usr/share/doc/'], defaultExcludes: false });
    expect(f.match(e('usr/lib/python3/x.pyc'))).toBe('*.pyc');
    expect(f.match(e('var/cache'))).toBe('/var/cache');
    expect(f.match(e('srv/var/cache'))).toBeUndefined();
    expect(f.match(e('tmp/a'))).toBe('./tmp/*');
    expect(f.match(e('tmp'))).toBeUndefined();
    expect(f.match(e('tmp/a/b'))).toBeUndefined(); // `*` stops at '/', the subtree goes with tmp/a
    expect(f.match(e('usr/share/doc'))).toBe('usr/share/doc/');
    expect(f.match(e(''))).toBeUndefined(); // never the root
  });

  it('supports ?, classes, ** and escapes, on raw bytes', () => {
    expect(globToRegExp('a?c').test('abc')).toBe(true);
    expect(globToRegExp('a?c').test('a/c')).toBe(false);
    expect(globToRegExp('[!a]x').test('bx')).toBe(true);
    expect(globToRegExp('[!a]x').test('ax')).toBe(false);
    expect(globToRegExp('[a-c]x').test('bx')).toBe(true);
    expect(globToRegExp('[]]').test(']')).toBe(true);
    expect(globToRegExp('a/**/z').test('a/b/c/z')).toBe(true);
    expect(globToRegExp('\\*').test('*')).toBe(true);
    expect(globToRegExp('\\*').test('x')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    const f = new ExcludeFilter({ exclude: ['n*.txt'], defaultExcludes: false });
    expect(f.match(e(Uint8Array.from([0x64, 0x2f, 0x6e, 0xff, 0x2e, 0x74, 0x78, 0x74])))).toBe('n*.txt');
  });

  it('refuses a pattern that would exclude the root', () => {
    expect(() => new ExcludeFilter({ exclude: ['/'] })).toThrow(expect.objectContaining({ code: 'UAI_LAYER_BAD_OPTION' }));
    expect(() => new ExcludeFilter({ exclude: ['./'] })).toThrow(expect.objectContaining({ code: 'UAI_LAYER_BAD_OPTION' }));
  });

  it('excludes a directory with its whole subtree in the layer', async () => {
    const image = new FakeImage([
      { path: '/' },
      { path: '/a' },
      { path: '/a/b' },
      { path: '/a/b/c', data: 'c' },
      { path: '/a/d', data: 'd' },
      { path: '/b', data: 'b' },
    ]);
    const entries = parseTar(await collect(layerTar(image, { exclude: ['b'] })));
    expect(entries.map((x) => x.path)).toEqual(['', 'a', 'a/d']);
    expect(image.dataRead).toEqual(['/a/d']);
  });
});
