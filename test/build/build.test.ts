/**
 * build(): from a real mksquashfs image to the real docker-registry, an OCI layout and a
 * docker archive in one pass; checked with skopeo and umoci.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, type BuildResult } from '../../src/build/index.ts';
import { FileSource } from '../../src/source/index.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import type { Warning } from '../../src/errors.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { pushLayers, tagsOf, tarOf } from './registry-images.ts';
import { makeTinyRootfs, UAI_SSH_SCRIPT, type TinyRootfs } from './tiny-rootfs.ts';

let reg: TestRegistry;
let withSsh: TinyRootfs;
let withoutSsh: TinyRootfs;
let work: string;

beforeAll(async () => {
  reg = await startRegistry({ mode: 'plain' });
  withSsh = makeTinyRootfs({ files: { 'etc/motd': 'compute\n' } });
  withoutSsh = makeTinyRootfs({ uaiSsh: false, machine: 183 });
  work = mkdtempSync(join(tmpdir(), 'uai-build-test-'));
});
afterAll(async () => {
  await reg?.stop();
  withSsh?.cleanup();
  withoutSsh?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const env = { SOURCE_DATE_EPOCH: undefined } as NodeJS.ProcessEnv;

function skopeo(...args: string[]): any {
  return JSON.parse(execFileSync('skopeo', args, { encoding: 'utf8' }));
}

function unpack(layout: string, tag: string, name: string): string {
  const bundle = join(work, name);
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle], { stdio: 'pipe' });
  return join(bundle, 'rootfs');
}

describe('build()', () => {
  let result: BuildResult;

  it('publishes to a registry, an OCI layout and a docker archive in one pass', async () => {
    const layout = join(work, 'layout');
    const archive = join(work, 'image.tar');
    const events = new Set<string>();
    result = await build({
      source: withSsh.image,
      destinations: [`docker://${reg.host}/cray/uai:v1`, `oci:${layout}:v1`, `docker-archive:${archive}:cray/uai:v1`],
      compression: 'gzip',
      environment: env,
      onProgress: (e) => events.add(e.phase),
    });
    expect(result.architecture).toBe('amd64');
    expect(result.created).toBe('2023-11-14T22:13:20Z');
    expect(result.references).toEqual([`${reg.host}/cray/uai@${result.manifestDigest}`, `oci:${layout}:v1`, `docker-archive:${archive}:cray/uai:v1`]);
    expect([...events]).toEqual(expect.arrayContaining(['resolve', 'check', 'prepare', 'layer', 'commit', 'done']));

    const inspected = skopeo('inspect', '--tls-verify=false', `docker://${reg.host}/cray/uai:v1`);
    expect(inspected).toMatchObject({ Digest: result.manifestDigest, Architecture: 'amd64', Os: 'linux', Layers: [result.layer.digest] });
    const config = skopeo('inspect', '--tls-verify=false', '--config', `docker://${reg.host}/cray/uai:v1`);
    expect(config.config.Entrypoint).toEqual(['/usr/bin/uai-ssh.sh']);
    expect(config.rootfs.diff_ids).toEqual([result.layer.diffId]);

    // The registry and the layout got the same gzip layer; its diff_id is the sha256 of the tar inside.
    const blob = join(layout, 'blobs/sha256', result.layer.digest.slice(7));
    execFileSync('gzip', ['-t', blob]);
    const tar = execFileSync('zcat', [blob], { maxBuffer: 64 << 20 });
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(result.layer.diffId);
    const names = execFileSync('tar', ['tf', '-'], { input: tar, encoding: 'utf8' });
    expect(names).not.toContain('99-slingshot-network.conf');

    const rootfs = unpack(layout, 'v1', 'b1');
    expect(readFileSync(join(rootfs, 'usr/bin/uai-ssh.sh'), 'utf8')).toBe(UAI_SSH_SCRIPT);
    expect(statSync(join(rootfs, 'usr/bin/uai-ssh.sh')).mode & 0o777).toBe(0o755);

    const fromArchive = join(work, 'from-archive');
    execFileSync('skopeo', ['copy', `docker-archive:${archive}`, `oci:${fromArchive}:x`], { stdio: 'pipe' });
    expect(readFileSync(join(unpack(fromArchive, 'x', 'b2'), 'etc/motd'), 'utf8')).toBe('compute\n');
  });

  it('is deterministic: the same SquashFS gives the same manifest digest', async () => {
    const again = await build({ source: withSsh.image, destinations: [`docker://${reg.host}/cray/uai:v2`], compression: 'gzip', environment: env });
    expect(again.manifestDigest).toBe(result.manifestDigest);
    expect(skopeo('inspect', '--tls-verify=false', `docker://${reg.host}/cray/uai:v2`).Digest).toBe(result.manifestDigest);
  });

  it('SOURCE_DATE_EPOCH sets created (and so the digests)', async () => {
    const r = await build({ source: withSsh.image, destinations: [`oci:${join(work, 'sde')}`], compression: 'gzip', environment: { SOURCE_DATE_EPOCH: '1600000000' } });
    expect(r.created).toBe('2020-09-13T12:26:40Z');
    expect(r.manifestDigest).not.toBe(result.manifestDigest);
  });

  it('without /usr/bin/uai-ssh.sh: UAI_IMAGE_NO_UAI_SSH saying how to fix it, and nothing published', async () => {
    const layout = join(work, 'never');
    const err = await build({ source: withoutSsh.image, destinations: [`docker://${reg.host}/cray/nossh:v1`, `oci:${layout}`], environment: env }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UAI_IMAGE_NO_UAI_SSH' });
    expect((err as Error).message).toContain('--add FILE:/usr/bin/uai-ssh.sh');
    expect((err as Error).message).toContain('--uai-ssh-from docker://');
    expect(await tagsOf(reg.url, 'cray/nossh')).toEqual([]);
    expect(existsSync(layout)).toBe(false);
  });

  it('--add puts the script in root-owned with the mode asked; the plain profile needs none', async () => {
    const script = join(work, 'my-uai-ssh.sh');
    writeFileSync(script, '#!/bin/bash\necho custom\n');
    const layout = join(work, 'added');
    const r = await build({
      source: withoutSsh.image,
      destinations: [`oci:${layout}:t`],
      add: [{ dest: '/usr/bin/uai-ssh.sh', content: { path: script }, mode: 0o755 }],
      environment: env,
    });
    expect(r.architecture).toBe('arm64');
    expect(skopeo('inspect', `oci:${layout}:t`)).toMatchObject({ Architecture: 'arm64' });
    const rootfs = unpack(layout, 't', 'b3');
    expect(readFileSync(join(rootfs, 'usr/bin/uai-ssh.sh'), 'utf8')).toBe('#!/bin/bash\necho custom\n');
    expect(statSync(join(rootfs, 'usr/bin/uai-ssh.sh')).mode & 0o777).toBe(0o755);

    const plain = await build({ source: withoutSsh.image, destinations: [`oci:${join(work, 'plain')}:t`], profile: 'plain', environment: env });
    expect(skopeo('inspect', '--config', `oci:${join(work, 'plain')}:t`).config.Entrypoint).toBeUndefined();
    expect(plain.layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
  });

  it('--uai-ssh-from takes the script from the last layer that has it', async () => {
    await pushLayers(reg.host, 'stock/uai', 'base', [
      await tarOf([{ name: 'usr/', type: 'directory' }, { name: 'usr/bin/', type: 'directory' }, { name: 'usr/bin/uai-ssh.sh', content: 'old\n', mode: 0o700 }]),
      await tarOf([{ name: 'usr/bin/uai-ssh.sh', content: '#!/bin/bash\nstock v2\n', mode: 0o700 }]),
      await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/later', content: 'x' }]),
    ], { gzip: true });
    const layout = join(work, 'from-stock');
    await build({ source: withoutSsh.image, destinations: [`oci:${layout}:t`], uaiSshFrom: `docker://${reg.host}/stock/uai:base`, tlsVerify: false, environment: env });
    const rootfs = unpack(layout, 't', 'b4');
    expect(readFileSync(join(rootfs, 'usr/bin/uai-ssh.sh'), 'utf8')).toBe('#!/bin/bash\nstock v2\n');
    expect(statSync(join(rootfs, 'usr/bin/uai-ssh.sh')).mode & 0o777).toBe(0o755);
  });

  it('--uai-ssh-from reads a layer to its end, so a blob the registry serves damaged is refused even when the script came first', async () => {
    const layer = await tarOf([
      { name: 'usr/bin/uai-ssh.sh', content: '#!/bin/bash\nlooks fine\n', mode: 0o755 },
      { name: 'var/lib/padding', content: 'a'.repeat(256 * 1024) },
    ]);
    await pushLayers(reg.host, 'stock/damaged', 'v1', [layer]);
    // Damage the stored blob after the push (a disk error, or a registry that lies): one byte
    // of the padding, far behind the script, same length, so only the digest can tell.
    const hex = createHash('sha256').update(layer).digest('hex');
    const data = join(reg.dir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    const stored = readFileSync(data);
    const at = stored.indexOf('a'.repeat(1024), stored.length - 128 * 1024);
    expect(at).toBeGreaterThan(0);
    stored[at] = 0x62;
    writeFileSync(data, stored);
    const layout = join(work, 'damaged');
    await expect(
      build({ source: withoutSsh.image, destinations: [`oci:${layout}:t`], uaiSshFrom: `docker://${reg.host}/stock/damaged:v1`, environment: env }),
    ).rejects.toMatchObject({ code: 'UAI_REGISTRY_DIGEST_INVALID', details: { expected: `sha256:${hex}` } });
    expect(existsSync(layout)).toBe(false);
  });

  it('--uai-ssh-from honours a whiteout in a later layer', async () => {
    await pushLayers(reg.host, 'stock/deleted', 'v1', [
      await tarOf([{ name: 'usr/bin/uai-ssh.sh', content: 'gone\n', mode: 0o755 }]),
      await tarOf([{ name: 'usr/bin/.wh.uai-ssh.sh', content: '' }]),
    ]);
    await expect(
      build({ source: withoutSsh.image, destinations: [`oci:${join(work, 'wh')}:t`], uaiSshFrom: `docker://${reg.host}/stock/deleted:v1`, environment: env }),
    ).rejects.toMatchObject({ code: 'UAI_IMAGE_UAI_SSH_FROM', message: expect.stringContaining('whiteout') });
    expect(existsSync(join(work, 'wh'))).toBe(false);
  });

  it('format docker sends schema2 + gzip to the registry while an OCI layout keeps the uncompressed tar', async () => {
    const layout = join(work, 'mixed');
    const warnings: Warning[] = [];
    const r = await build({
      source: withSsh.image,
      destinations: [`docker://${reg.host}/cray/v2s2:v1`, `oci:${layout}:t`],
      format: 'docker',
      environment: env,
      onWarning: (w) => warnings.push(w),
    });
    const raw = skopeo('inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/cray/v2s2:v1`);
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(raw.layers[0].mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    const [registryResult, layoutResult] = r.destinations;
    expect(layoutResult!.layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(registryResult!.layer.digest).toBe(raw.layers[0].digest);
    expect(layoutResult!.layer.diffId).toBe(registryResult!.layer.diffId);
    expect(warnings).toEqual([]);
  });

  it('an abort mid-push leaves no tag and no temporary file', async () => {
    const big = makeTinyRootfs({ bigFile: 48 * 1024 * 1024 });
    try {
      const layout = join(work, 'aborted-layout');
      const archive = join(work, 'aborted.tar');
      const controller = new AbortController();
      const err = await build({
        source: big.image,
        destinations: [`docker://${reg.host}/cray/aborted:v1`, `oci:${layout}:t`, `oci-archive:${archive}`],
        compression: 'gzip',
        compressionLevel: 9,
        environment: env,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === 'layer' && (e.bytes ?? 0) > 4 * 1024 * 1024) controller.abort(new Error('interrupted by SIGINT'));
        },
      }).catch((e: unknown) => e);
      expect((err as Error).message).toBe('interrupted by SIGINT');
      expect(await tagsOf(reg.url, 'cray/aborted')).toEqual([]);
      expect(existsSync(layout)).toBe(false);
      expect(existsSync(archive)).toBe(false);
      expect(readdirSync(work).filter((n) => n.includes('uai-tmp'))).toEqual([]);
    } finally {
      big.cleanup();
    }
  });

  it('a registry that drops the upload mid-stream is retried from the rootfs while the layout keeps its one pass', async () => {
    const proxy = await startFaultProxy(reg.url);
    try {
      proxy.fault({ method: 'PATCH', action: { type: 'reset', afterBytes: 2000 } });
      const layout = join(work, 'retry-layout');
      const r = await build({ source: withSsh.image, destinations: [`docker://${proxy.host}/cray/retry:v1`, `oci:${layout}:t`], environment: env });
      expect(proxy.pending()).toEqual([]);
      expect(skopeo('inspect', '--tls-verify=false', `docker://${reg.host}/cray/retry:v1`).Digest).toBe(r.manifestDigest);
      expect(r.destinations[1]!.manifestDigest).toBe(r.manifestDigest);
      expect(existsSync(join(layout, 'blobs/sha256', r.layer.digest.slice(7)))).toBe(true);
    } finally {
      await proxy.stop();
    }
  });

  it('bad registry credentials fail before any layer byte is read, and leave no layout behind', async () => {
    const tls = await startRegistry({ mode: 'tls-basic' });
    try {
      const phases: string[] = [];
      const layout = join(work, 'unauthorized');
      const err = await build({
        source: withSsh.image,
        destinations: [`oci:${layout}:t`, `docker://${tls.host}/cray/secure:v1`],
        creds: { username: 'tester', password: 'wrong' },
        caFile: tls.caFile!,
        environment: env,
        onProgress: (e) => phases.push(e.phase),
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UAI_REGISTRY_UNAUTHORIZED' });
      expect((err as Error).message).not.toContain('wrong');
      expect(phases).not.toContain('layer');
      expect(existsSync(layout)).toBe(false);
    } finally {
      await tls.stop();
    }
  });

  it('layer progress carries a total estimated from the inode table: file bytes plus 1 KiB per inode', async () => {
    const image = await SquashfsImage.open(await FileSource.open(withSsh.image));
    const stats = await image.stats();
    await image.close();
    const layer: Array<{ bytes: number; total?: number }> = [];
    const r = await build({
      source: withSsh.image,
      destinations: [`oci:${join(work, 'progress')}:t`],
      compression: 'none',
      environment: env,
      onProgress: (e) => {
        if (e.phase === 'layer') layer.push({ bytes: e.bytes ?? 0, ...(e.total !== undefined ? { total: e.total } : {}) });
      },
    });
    // publish() announces the layer (bytes 0, no total) before the counted stream starts.
    const counted = layer.filter((e) => e.total !== undefined);
    expect(counted.length).toBeGreaterThan(0);
    expect(new Set(counted.map((e) => e.total))).toEqual(new Set([stats.bytes + stats.inodes * 1024]));
    expect(counted.at(-1)!.bytes).toBe(r.layer.size);
  });

  it('an inode table the counting pass cannot read costs only the progress total: the layer is the same', async () => {
    // 400 long names make /var/many an extended directory with a directory index, a field
    // the walk never reads and the counting pass must step over. -noI keeps the inode table
    // uncompressed, so the index count can be damaged in place.
    const files = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`var/many/${'n'.repeat(40)}-${i}`, `${i}\n`]));
    const rootfs = makeTinyRootfs({ files, mksquashfsArgs: ['-noI'] });
    try {
      const bytes = readFileSync(rootfs.image);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const image = await SquashfsImage.open(await FileSource.open(rootfs.image));
      const ref = (await image.lookup('/var/many')).inodeRef;
      await image.close();
      const block = Math.floor(ref / 65536);
      const offset = ref % 65536;
      expect(offset + 34).toBeLessThanOrEqual(8192); // the index count sits in the same metadata block
      const inode = Number(view.getBigUint64(64, true)) + block + 2 + offset;
      expect(view.getUint16(inode, true)).toBe(8); // extended directory
      expect(view.getUint16(inode + 32, true)).toBeGreaterThan(0); // with index entries
      view.setUint16(inode + 32, 0xffff, true);
      const damaged = join(work, 'damaged-index.sqfs');
      writeFileSync(damaged, bytes);
      const check = await SquashfsImage.open(await FileSource.open(damaged));
      expect(() => check.inodeTotals()).toThrow(/inode table/);
      await check.close();

      const totals: Array<number | undefined> = [];
      const r = await build({
        source: damaged,
        destinations: [`oci:${join(work, 'damaged-index')}:t`],
        compression: 'none',
        environment: env,
        onProgress: (e) => {
          if (e.phase === 'layer') totals.push(e.total);
        },
      });
      expect(totals.length).toBeGreaterThan(1);
      expect(totals.filter((t) => t !== undefined)).toEqual([]);
      const intact = await build({ source: rootfs.image, destinations: [`oci:${join(work, 'intact-index')}:t`], compression: 'none', environment: env });
      expect(r.layer.diffId).toBe(intact.layer.diffId);
    } finally {
      rootfs.cleanup();
    }
  });

  it('zstd layers: one valid frame holding the tar the diff_id names; skopeo copies it to the registry', async () => {
    const layout = join(work, 'zstd');
    const r = await build({ source: withSsh.image, destinations: [`oci:${layout}:t`], compression: 'zstd', compressionLevel: 9, environment: env });
    expect(r.layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    const blob = join(layout, 'blobs/sha256', r.layer.digest.slice(7));
    const tar = execFileSync('zstd', ['-dc', blob], { maxBuffer: 64 << 20 });
    execFileSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:t`, `docker://${reg.host}/cray/zstd:v1`], { stdio: 'pipe' });
    expect(skopeo('inspect', '--tls-verify=false', `docker://${reg.host}/cray/zstd:v1`).Layers).toEqual([r.layer.digest]);
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(r.layer.diffId);
  });

  it('a multi-block parallel gzip layer is one valid member whose tar matches the diff_id (registry and layout agree)', async () => {
    const big = makeTinyRootfs({ bigFile: 6 * 1024 * 1024 + 12345, files: { 'etc/text.conf': 'key = value\n'.repeat(200_000) } });
    try {
      const layout = join(work, 'multi-block');
      const r = await build({ source: big.image, destinations: [`docker://${reg.host}/cray/big:v1`, `oci:${layout}:t`], compression: 'gzip', environment: env });
      const blob = join(layout, 'blobs/sha256', r.layer.digest.slice(7));
      execFileSync('gzip', ['-t', blob]);
      const gz = readFileSync(blob);
      expect([...gz.subarray(0, 3)]).toEqual([0x1f, 0x8b, 8]);
      const tar = execFileSync('zcat', [blob], { maxBuffer: 64 << 20 });
      expect(tar.length).toBeGreaterThan(8 * 1024 * 1024); // several 1 MiB blocks
      expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(r.layer.diffId);
      expect(r.destinations[1]!.layer.digest).toBe(r.layer.digest);
      const copy = join(work, 'multi-block-pulled');
      execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/cray/big:v1`, `oci:${copy}:t`], { stdio: 'pipe' });
      expect(readFileSync(join(unpack(copy, 't', 'b-big'), 'var/big.bin')).length).toBe(6 * 1024 * 1024 + 12345);
    } finally {
      big.cleanup();
    }
  });
});

describe('build() option conflicts', () => {
  it('refuses format docker + zstd and a level without compression, before opening anything', async () => {
    await expect(build({ source: '/nonexistent.sqfs', destinations: ['oci:/nonexistent/x'], format: 'docker', compression: 'zstd' })).rejects.toMatchObject({
      code: 'UAI_IMAGE_INVALID_OPTION',
      details: { field: 'compression' },
    });
    await expect(build({ source: '/nonexistent.sqfs', destinations: ['oci:/nonexistent/x'], compressionLevel: 3 })).rejects.toMatchObject({
      code: 'UAI_IMAGE_INVALID_OPTION',
      details: { field: 'compressionLevel' },
    });
  });

  it('refuses a level out of its range with the same code as every other build() option', async () => {
    await expect(build({ source: '/nonexistent.sqfs', destinations: ['oci:/nonexistent/x'], compression: 'gzip', compressionLevel: 10 })).rejects.toMatchObject({
      code: 'UAI_IMAGE_INVALID_OPTION',
      message: expect.stringMatching(/out of range for gzip \(0-9\)/),
      details: { field: 'compressionLevel' },
    });
  });
});
