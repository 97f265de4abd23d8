import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSquashfsLayer, layerTar, type LayerTarOptions } from '../../src/layer/index.ts';
import { FakeImage, type FakeSpec } from './support/fake-image.ts';
import { collect, parseTar } from './support/parse-tar.ts';
import { createHash } from 'node:crypto';

const tmp = mkdtempSync(join(tmpdir(), 'layer-inject-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const enc = new TextEncoder();
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const SPECS: FakeSpec[] = [
  { path: '/' },
  { path: '/bin', type: 'symlink', target: 'usr/bin' },
  { path: '/etc' },
  { path: '/etc/hosts', data: 'hosts' },
  { path: '/etc/motd', data: 'old', mode: 0o600, uid: 5 },
  { path: '/etc/ssh' },
  { path: '/etc/ssh/sshd_config', data: 'cfg' },
  { path: '/usr' },
  { path: '/usr/bin' },
  { path: '/zz', data: 'z' },
];
const MKFS = 1_700_000_000;

async function run(options: LayerTarOptions) {
  const image = new FakeImage(SPECS, MKFS);
  const entries = parseTar(await collect(layerTar(image, options)));
  return { image, entries, m: new Map(entries.map((x) => [x.path, x])) };
}

describe('injections', () => {
  it('replaces an existing file in place, with owner 0:0 and the mkfs time', async () => {
    const { entries, m, image } = await run({ add: [{ dest: '/etc/motd', content: enc.encode('new motd\n'), mode: 0o644 }] });
    expect(entries.map((x) => x.path)).toEqual(['', 'bin', 'etc', 'etc/hosts', 'etc/motd', 'etc/ssh', 'etc/ssh/sshd_config', 'usr', 'usr/bin', 'zz']);
    expect(m.get('etc/motd')).toMatchObject({ type: '0', mode: 0o644, uid: 0, gid: 0, mtime: MKFS, sha256: sha('new motd\n') });
    expect(image.dataRead).not.toContain('/etc/motd');
  });

  it('creates missing parents in sorted position, root-owned 0755', async () => {
    const { entries, m } = await run({
      add: [
        { dest: 'etc/profile.d/cray.sh', content: enc.encode('x') },
        { dest: '/opt/cray/pe/a', content: enc.encode('a'), uid: 7, gid: 8, mtime: 42 },
        { dest: '/etc/ssh/zzz', content: enc.encode('z') },
        { dest: '/aaa', content: enc.encode('first') },
        { dest: '/zzz/last', content: enc.encode('last') },
      ],
    });
    expect(entries.map((x) => x.path)).toEqual([
      '', 'aaa', 'bin', 'etc', 'etc/hosts', 'etc/motd', 'etc/profile.d', 'etc/profile.d/cray.sh', 'etc/ssh',
      'etc/ssh/sshd_config', 'etc/ssh/zzz', 'opt', 'opt/cray', 'opt/cray/pe', 'opt/cray/pe/a', 'usr', 'usr/bin', 'zz', 'zzz', 'zzz/last',
    ]);
    expect(m.get('opt/cray')).toMatchObject({ type: '5', mode: 0o755, uid: 0, gid: 0, mtime: MKFS, rawName: './opt/cray/' });
    expect(m.get('opt/cray/pe/a')).toMatchObject({ uid: 7, gid: 8, mtime: 42, mode: 0o644 });
  });

  it('takes the mode of a local file unless given', async () => {
    const src = join(tmp, 'script.sh');
    writeFileSync(src, '#!/bin/sh\n');
    chmodSync(src, 0o750);
    const { m } = await run({ add: [{ dest: '/usr/bin/script', content: { path: src } }, { dest: '/usr/bin/script2', content: { path: src }, mode: 0o4711 }] });
    expect(m.get('usr/bin/script')).toMatchObject({ mode: 0o750, sha256: sha('#!/bin/sh\n') });
    expect(m.get('usr/bin/script2')).toMatchObject({ mode: 0o4711 });
  });

  it('reads a local file once per layer, so every open() gives the same bytes', async () => {
    const src = join(tmp, 'changing');
    writeFileSync(src, 'first');
    const layer = createSquashfsLayer(new FakeImage(SPECS, MKFS), { add: [{ dest: '/etc/changing', content: { path: src } }] });
    const a = await collect(layer.open());
    writeFileSync(src, 'second, longer');
    const b = await collect(layer.open());
    expect(b.equals(a)).toBe(true);
    expect(parseTar(a).find((x) => x.path === 'etc/changing')).toMatchObject({ sha256: sha('first') });
  });

  it('never writes a path twice, even in a directory that is not sorted on disk', async () => {
    const image = new FakeImage([{ path: '/' }, { path: '/b', data: 'b' }, { path: '/a', data: 'a' }], MKFS);
    const entries = parseTar(await collect(layerTar(image, { add: [{ dest: '/a', content: enc.encode('new') }] })));
    expect(entries.map((x) => x.path)).toEqual(['', 'a', 'b']);
    expect(entries[1]).toMatchObject({ sha256: sha('new') });
  });

  it('refuses a destination under a symlink, a file, or on a directory', async () => {
    await expect(run({ add: [{ dest: '/bin/tool', content: enc.encode('x') }] })).rejects.toMatchObject({
      code: 'UAI_LAYER_INJECT_PATH',
      message: expect.stringContaining('symlink'),
    });
    await expect(run({ add: [{ dest: '/etc/hosts/x', content: enc.encode('x') }] })).rejects.toMatchObject({ code: 'UAI_LAYER_INJECT_PATH' });
    await expect(run({ add: [{ dest: '/etc/ssh', content: enc.encode('x') }] })).rejects.toMatchObject({ code: 'UAI_LAYER_INJECT_PATH' });
  });

  it('checks destinations and local files', async () => {
    for (const dest of ['/', '', '/etc/../x', '/etc//x', '/etc/']) {
      await expect(run({ add: [{ dest, content: enc.encode('x') }] })).rejects.toMatchObject({ code: 'UAI_LAYER_BAD_OPTION' });
    }
    await expect(run({ add: [{ dest: '/a', content: enc.encode('x') }, { dest: 'a', content: enc.encode('y') }] })).rejects.toMatchObject({ code: 'UAI_LAYER_BAD_OPTION' });
    await expect(run({ add: [{ dest: '/a', content: { path: join(tmp, 'missing') } }] })).rejects.toMatchObject({ code: 'UAI_LAYER_INJECT_READ' });
    await expect(run({ add: [{ dest: '/etc/.wh.x', content: enc.encode('x') }] })).rejects.toMatchObject({ code: 'UAI_LAYER_WHITEOUT_NAME' });
  });

  it('puts a file where an excluded entry was', async () => {
    const { m } = await run({ exclude: ['/etc/ssh'], add: [{ dest: '/etc/ssh/sshd_config', content: enc.encode('mine') }] });
    expect(m.get('etc/ssh')).toMatchObject({ type: '5', uid: 0, mtime: MKFS });
    expect(m.get('etc/ssh/sshd_config')).toMatchObject({ sha256: sha('mine') });
  });
});
