/** `uai-assemble build` argument handling, in-process through main(). */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAdd, parseSize } from '../../src/cli/commands/build.ts';
import type { CliIo } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { makeTinyRootfs } from '../build/tiny-rootfs.ts';

const work = mkdtempSync(join(tmpdir(), 'uai-cli-args-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const FIXTURE = resolve('fixtures/images/uai-rootfs-gzip.sqfs');

function io(): { io: Partial<CliIo>; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const w = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  return {
    io: { stdout: w((s) => (out += s)), stderr: w((s) => (err += s)), env: {}, cwd: work, signal: new AbortController().signal, isTTY: false },
    out: () => out,
    err: () => err,
  };
}

describe('build arguments', () => {
  it('--add SRC:DEST[:MODE] resolves SRC against the working directory', () => {
    const cli = io().io as CliIo;
    expect(parseAdd('script.sh:/usr/bin/uai-ssh.sh:0755', cli)).toEqual({
      dest: '/usr/bin/uai-ssh.sh',
      content: { path: join(work, 'script.sh') },
      mode: 0o755,
      uid: 0,
      gid: 0,
    });
    expect(parseAdd('/abs/x:/etc/motd', cli)).toMatchObject({ dest: '/etc/motd', content: { path: '/abs/x' } });
    expect(() => parseAdd('no-dest', cli)).toThrow(/SRC:DEST/);
  });

  it('--chunk-size takes K, M, G suffixes', () => {
    expect(parseSize('5M', '--chunk-size')).toBe(5 * 1024 * 1024);
    expect(parseSize('1GiB', '--chunk-size')).toBe(1024 ** 3);
    expect(parseSize('4096', '--chunk-size')).toBe(4096);
    expect(() => parseSize('lots', '--chunk-size')).toThrow(/number of bytes/);
  });

  it('a bare --tls-verify means true, as in skopeo; relative oci: paths are under the working directory', async () => {
    const c = io();
    const code = await main(['build', FIXTURE, 'oci:layout:t', '--tls-verify', '--quiet'], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    expect(c.out()).toBe('oci:layout:t\n');
    expect(existsSync(join(work, 'layout/index.json'))).toBe(true);
  });

  it('a relative SOURCE path is read from the working directory given to main()', async () => {
    copyFileSync(FIXTURE, join(work, 'rootfs.sqfs'));
    const c = io();
    const code = await main(['build', 'rootfs.sqfs', 'oci:rel:t', '--quiet'], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    expect(existsSync(join(work, 'rel/index.json'))).toBe(true);
  });

  it('--dry-run resolves SOURCE, checks the rootfs, prints the plan and writes nothing', async () => {
    const c = io();
    const dests = ['oci:dry:t', 'oci-archive:dry.tar:t', 'docker-archive:dry-d.tar:cray/uai:t'];
    expect(await main(['build', FIXTURE, ...dests, '--dry-run', '--json', '--compression', 'gzip'], c.io)).toBe(0);
    const plan = JSON.parse(c.out());
    expect(plan).toMatchObject({
      dryRun: true,
      source: FIXTURE,
      origin: FIXTURE,
      plan: { kind: 'file', access: 'local', size: statSync(FIXTURE).size },
      architecture: 'amd64',
      platformFrom: 'elf',
      uaiSsh: 'image',
      entrypoint: ['/usr/bin/uai-ssh.sh'],
      destinations: [
        { destination: 'oci:dry:t', transport: 'oci', layerCompression: 'gzip', check: 'local' },
        { destination: 'oci-archive:dry.tar:t', transport: 'oci-archive', layerCompression: 'gzip', check: 'local' },
        { destination: 'docker-archive:dry-d.tar:cray/uai:t', transport: 'docker-archive', layerCompression: 'none', check: 'local' },
      ],
    });
    expect(plan.rootfs.inodes).toBeGreaterThan(3);
    expect(readdirSync(work).filter((n) => n.startsWith('dry'))).toEqual([]);

    const human = io();
    expect(await main(['build', FIXTURE, 'oci:dry:t', '--dry-run'], human.io)).toBe(0);
    expect(human.out()).toContain('dry run: nothing was written');
    expect(human.out()).toMatch(/^architecture +amd64 \(from \/bin\/sh\)$/m);
    expect(human.out()).toMatch(/^uai-ssh\.sh +in the image$/m);
    expect(human.out()).toMatch(/^destination +oci:dry:t \(oci manifest, tar layer\): local, not written$/m);
    expect(human.err()).toBe('');
    expect(existsSync(join(work, 'dry'))).toBe(false);
  });

  it('--dry-run fails where the build would: no DEST or a bad one (exit 2), no uai-ssh.sh (exit 1)', async () => {
    for (const [args, code, text] of [
      [[], 2, 'missing DEST'],
      [['nowhere:x'], 2, 'unknown transport'],
      [['oci:x', '--format', 'docker', '--compression', 'zstd'], 2, 'zstd'],
      [['oci:x', '--add', `${join(work, 'missing.sh')}:/usr/bin/uai-ssh.sh`], 1, 'missing.sh'],
    ] as const) {
      const c = io();
      expect(await main(['build', FIXTURE, ...args, '--dry-run'], c.io), args.join(' ')).toBe(code);
      expect(c.err()).toContain(text);
      expect(c.out()).toBe('');
    }
    const noSsh = makeTinyRootfs({ uaiSsh: false });
    try {
      const c = io();
      expect(await main(['build', noSsh.image, 'oci:nossh:t', '--dry-run'], c.io)).toBe(1);
      expect(c.err()).toContain('UAI_IMAGE_NO_UAI_SSH');
      expect(c.out()).toBe('');
      const fixed = io();
      writeFileSync(join(work, 'ssh.sh'), '#!/bin/bash\n', { mode: 0o644 });
      expect(await main(['build', noSsh.image, 'oci:nossh:t', '--dry-run', '--json', '--add', 'ssh.sh:/usr/bin/uai-ssh.sh'], fixed.io)).toBe(0);
      expect(JSON.parse(fixed.out())).toMatchObject({ uaiSsh: 'add', add: [{ dest: '/usr/bin/uai-ssh.sh', mode: 0o755 }] });
      expect(existsSync(join(work, 'nossh'))).toBe(false);
    } finally {
      noSsh.cleanup();
    }
  });

  it('--help lists the options; --default without --register is a usage error', async () => {
    const help = io();
    expect(await main(['build', '--help'], help.io)).toBe(0);
    expect(help.out()).toContain('--uai-ssh-from docker://REF');
    const c = io();
    expect(await main(['build', FIXTURE, 'oci:x', '--default'], c.io)).toBe(2);
    expect(c.err()).toContain('--default goes with --register');
  });
});

describe('credentials in a DEST', () => {
  const SECRET = 's3cr/et@Pa55';
  for (const dest of [`docker://alice:${SECRET}@127.0.0.1:5000/cray/uai:v1`, `docker://alice:${SECRET}@registry.local/cray/uai`, `docker://bob@registry.local/cray/uai:v1`]) {
    it(`${dest.replace(SECRET, '…')}: a usage error that redacts them and names --creds`, async () => {
      for (const extra of [[], ['--dry-run']]) {
        const c = io();
        expect(await main(['build', FIXTURE, dest, '--quiet', ...extra], c.io)).toBe(2);
        expect(c.err()).not.toContain(SECRET);
        expect(c.err()).not.toContain('alice');
        expect(c.err()).not.toContain('bob@');
        expect(c.err()).toContain('--creds');
        expect(c.err()).toContain('docker://***@');
        expect(c.out()).toBe('');
      }
    });
  }

  it('--uai-ssh-from with USER:PASS@ is refused without echoing the password', async () => {
    const c = io();
    expect(await main(['build', FIXTURE, 'oci:never:t', '--uai-ssh-from', `docker://alice:${SECRET}@registry.local/stock/uai:1`, '--quiet'], c.io)).toBe(1);
    expect(c.err()).toContain('UAI_DEST_CREDENTIALS_IN_REFERENCE');
    expect(c.err()).not.toContain(SECRET);
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('a digest reference is still told apart from credentials', async () => {
    const c = io();
    expect(await main(['build', FIXTURE, `docker://registry.local/cray/uai@sha256:${'a'.repeat(64)}`, '--quiet'], c.io)).toBe(2);
    expect(c.err()).toContain('a push needs a tag, not a digest');
  });
});

describe('compression options that would be ignored', () => {
  for (const [args, text] of [
    [['--format', 'docker', '--compression', 'zstd'], '--format docker cannot carry a zstd layer'],
    [['--compression', 'none', '--compression-level', '5'], '--compression-level 5 needs --compression gzip or zstd'],
    [['--compression-level', '5'], '--compression-level 5 needs --compression gzip or zstd'],
  ] as const) {
    it(`${args.join(' ')}: usage error, nothing written`, async () => {
      const c = io();
      const name = `ignored-${args.length}-${args[1]}`;
      expect(await main(['build', FIXTURE, `oci:${name}:t`, '--quiet', ...args], c.io)).toBe(2);
      expect(c.err()).toContain(text);
      expect(c.err()).toContain('usage:');
      expect(existsSync(join(work, name))).toBe(false);
    });
  }
});
