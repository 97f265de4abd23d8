/**
 * `uai-assemble inspect` and `uai-assemble ls` through `main()`, on a real mksquashfs
 * image: `ls --long` must print what `unsquashfs -lln` prints (TZ=UTC, `/`-rooted paths,
 * directory sizes aside), `ls PATH` the subtree, `inspect` the superblock and counts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';

let tmp: string;
let image: string;

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(args, { stdout: out.stream, stderr: err.stream, signal: new AbortController().signal, isTTY: false });
  return { code, out: out.text(), err: err.text() };
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'uai-cli-inspect-ls-'));
  const tree = join(tmp, 'tree');
  mkdirSync(join(tree, 'etc', 'conf.d'), { recursive: true });
  writeFileSync(join(tree, 'etc', 'hosts'), '127.0.0.1 localhost\n');
  writeFileSync(join(tree, 'etc', 'conf.d', 'a.conf'), 'a=1\n'.repeat(100));
  linkSync(join(tree, 'etc', 'hosts'), join(tree, 'etc', 'hosts.hard'));
  symlinkSync('etc/conf.d', join(tree, 'conf'));
  symlinkSync('/etc/hosts', join(tree, 'hosts-link'));
  execFileSync('mknod', [join(tree, 'null'), 'c', '1', '3']);
  execFileSync('mkfifo', [join(tree, 'pipe')]);
  writeFileSync(join(tree, 'suid'), '#!/bin/sh\n');
  execFileSync('chown', ['3000000:42', join(tree, 'suid')]); // before chmod: chown clears setuid
  execFileSync('chmod', ['4755', join(tree, 'suid')]);
  execFileSync('setfattr', ['-n', 'user.note', '-v', '0x00ff41', join(tree, 'etc', 'hosts')]);
  image = join(tmp, 'image.sqfs');
  execFileSync('mksquashfs', [tree, image, '-noappend', '-quiet', '-no-progress', '-comp', 'xz'], { stdio: 'ignore' });
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function unsquashfsLines(...extra: string[]): string[] {
  const out = spawnSync('unsquashfs', ['-lln', image, ...extra], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  expect(out.status).toBe(0);
  return out.stdout.split('\n').filter((l) => l.length > 0).map((l) => l.replace(' squashfs-root/', ' /').replace(/ squashfs-root$/, ' /'));
}

describe('uai-assemble ls', () => {
  it('--long prints the lines unsquashfs -lln prints', async () => {
    const { code, out, err } = await cli(['ls', '--long', image]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const ours = out.split('\n').filter((l) => l.length > 0);
    expect(ours).toEqual(unsquashfsLines());
    expect(ours.some((l) => l.startsWith('-rwsr-xr-x 3000000/42'))).toBe(true);
    expect(ours.some((l) => l.startsWith('crw-r--r--') && l.includes(' 1,  3 '))).toBe(true);
  });

  it('prints one path per line by default, and the subtree of PATH (through a symlink)', async () => {
    const all = await cli(['ls', image]);
    expect(all.code).toBe(0);
    expect(all.out.split('\n')).toContain('/etc/conf.d/a.conf');
    expect(all.out.startsWith('/\n')).toBe(true);
    const sub = await cli(['ls', image, '/conf/']);
    expect(sub.code).toBe(0);
    expect(sub.out).toBe('/etc/conf.d\n/etc/conf.d/a.conf\n');
    expect((await cli(['ls', image, 'conf/.'])).out).toBe('/etc/conf.d\n/etc/conf.d/a.conf\n');
    expect((await cli(['ls', image, '/conf/a.conf'])).out).toBe('/etc/conf.d/a.conf\n');
    const one = await cli(['ls', image, 'etc/hosts']);
    expect(one.out).toBe('/etc/hosts\n');
  });

  it('lists a symlink named last as the link itself, as ls and unsquashfs -lln do', async () => {
    const link = await cli(['ls', image, '/conf']);
    expect(link.err).toBe('');
    expect(link.code).toBe(0);
    expect(link.out).toBe('/conf\n');
    const long = await cli(['ls', '--long', image, '/hosts-link']);
    expect(long.code).toBe(0);
    const expected = unsquashfsLines('hosts-link').filter((l) => l.endsWith(' /hosts-link -> /etc/hosts'));
    expect(expected).toHaveLength(1);
    expect(long.out).toBe(`${expected[0]}\n`);
    const json = await cli(['ls', '--json', image, 'hosts-link']);
    expect(JSON.parse(json.out)).toMatchObject({ path: '/hosts-link', type: 'symlink', target: '/etc/hosts' });
    // A trailing slash (or `/.`) follows the link to a directory, as in ls...
    expect((await cli(['ls', image, '/conf/'])).out).toBe('/etc/conf.d\n/etc/conf.d/a.conf\n');
    expect((await cli(['ls', image, '/conf/.'])).out).toBe('/etc/conf.d\n/etc/conf.d/a.conf\n');
    // ...and asks for a directory: a link to a file, or a file, then fails like `ls hosts-link/`.
    for (const path of ['/hosts-link/', '/etc/hosts/', '/hosts-link/.']) {
      const r = await cli(['ls', image, path]);
      expect(r.code, path).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toContain(`${path}: /etc/hosts is not a directory`);
    }
  });

  it('--json writes one object per entry with the documented fields', async () => {
    const { code, out } = await cli(['ls', '--json', image]);
    expect(code).toBe(0);
    const rows = out
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r.path)).toEqual(unsquashfsLines().map((l) => l.replace(/^.* \d{4}-\d\d-\d\d \d\d:\d\d /, '').split(' -> ')[0]));
    const byPath = new Map(rows.map((r) => [r.path, r]));
    expect(byPath.get('/etc/hosts')).toMatchObject({ type: 'file', mode: 0o644, size: 20, nlink: 2, xattrs: { 'user.note': Buffer.from([0, 0xff, 0x41]).toString('base64') } });
    expect(byPath.get('/etc/hosts.hard')!.inode).toBe(byPath.get('/etc/hosts')!.inode);
    expect(byPath.get('/hosts-link')).toMatchObject({ type: 'symlink', target: '/etc/hosts', size: 10 });
    expect(byPath.get('/null')).toMatchObject({ type: 'char', major: 1, minor: 3 });
    expect(byPath.get('/pipe')).toMatchObject({ type: 'fifo' });
    expect(byPath.get('/suid')).toMatchObject({ mode: 0o4755, uid: 3_000_000, gid: 42 });
    expect(byPath.get('/')).toMatchObject({ type: 'dir', xattrs: {} });
    for (const row of rows) expect(Object.keys(row)).toEqual(expect.arrayContaining(['path', 'type', 'mode', 'uid', 'gid', 'size', 'mtime', 'inode', 'nlink', 'xattrs']));
  });

  it('fails cleanly on a missing path, a bad image and bad usage', async () => {
    const missing = await cli(['ls', image, '/nope']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('UAI_SQFS_NOT_FOUND');
    const notImage = join(tmp, 'not-an-image');
    writeFileSync(notImage, Buffer.alloc(4096, 7));
    const bad = await cli(['ls', notImage]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('UAI_SQFS_BAD_MAGIC');
    expect((await cli(['ls'])).code).toBe(2);
    expect((await cli(['ls', image, '--bogus'])).code).toBe(2);
    expect((await cli(['ls', image, '/a', '/b'])).code).toBe(2);
    expect((await cli(['ls', image, '--json', '--long'])).code).toBe(2);
  });
});

describe('uai-assemble inspect', () => {
  it('--json reports the superblock, compressor options and counts', async () => {
    const { code, out } = await cli(['inspect', '--json', image]);
    expect(code).toBe(0);
    const report = JSON.parse(out) as {
      superblock: Record<string, unknown>;
      compressorOptions: unknown;
      stats: Record<string, number>;
    };
    const summary = spawnSync('unsquashfs', ['-s', image], { encoding: 'utf8' }).stdout;
    expect(report.superblock.compressor).toBe('xz');
    expect(summary).toContain(`Block size ${report.superblock.blockSize}`);
    expect(summary).toContain(`Number of inodes ${report.superblock.inodes}`);
    expect(summary).toContain(`Filesystem size ${report.superblock.bytesUsed} bytes`);
    expect(report.stats).toMatchObject({ files: 3, dirs: 3, symlinks: 2, devices: 1, fifos: 1, sockets: 0, xattrEntries: 1 });
    expect(report.stats.bytes).toBe(20 + 400 + 10);
    expect(report.superblock.flagNames).toEqual(expect.arrayContaining(['duplicates', 'exportable']));
  });

  it('prints a readable summary, and refuses a bad image', async () => {
    const { code, out } = await cli(['inspect', image]);
    expect(code).toBe(0);
    expect(out).toMatch(/^compressor: +xz$/m);
    expect(out).toMatch(/^block size: +131072$/m);
    expect(out).toMatch(/^files: +3 \(430 bytes\)$/m);
    const truncated = join(tmp, 'short');
    writeFileSync(truncated, Buffer.alloc(10));
    const bad = await cli(['inspect', truncated]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('UAI_SQFS_BAD_MAGIC');
    expect((await cli(['inspect'])).code).toBe(2);
  });
});

describe('ls --json and names that are not UTF-8', () => {
  it('adds the exact bytes in base64 only where the path text is lossy', async () => {
    const out = execFileSync(process.execPath, ['src/cli/main.ts', 'ls', 'fixtures/images/tree-gzip.sqfs', '--json'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const entries = out.trim().split('\n').map((l) => JSON.parse(l) as { path: string; pathBase64?: string });
    const lossy = entries.filter((e) => e.pathBase64 !== undefined);
    expect(lossy.map((e) => Buffer.from(e.pathBase64!, 'base64').toString('latin1'))).toEqual(['names/latin1-\xe9t\xe9-\xff']);
    expect(lossy[0]!.path).toContain('\uFFFD');
    expect(entries.length - lossy.length).toBeGreaterThan(100);
  });
});
