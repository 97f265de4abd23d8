/**
 * oci:, oci-archive: and docker-archive: destinations, fed by a real SquashFS layer,
 * read back by the real skopeo and umoci.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DockerArchiveDestination,
  OciArchiveDestination,
  OciLayoutDestination,
  parseDestination,
  tarHeader,
  type CommitContext,
} from '../../src/destination/index.ts';
import { assembleImage, type ImageFormat } from '../../src/image/index.ts';
import { compressLayer, type LayerCompression } from '../../src/layer/compression/index.ts';
import { createSquashfsLayer } from '../../src/layer/index.ts';
import type { Layer } from '../../src/layer/layer.ts';
import { FileSource } from '../../src/source/file.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { makeTinyRootfs, UAI_SSH_SCRIPT, type TinyRootfs } from '../build/tiny-rootfs.ts';

let fs: TinyRootfs;
let image: SquashfsImage;
let work: string;

beforeAll(async () => {
  fs = makeTinyRootfs({ files: { 'etc/motd': 'hello from the compute node\n' } });
  image = await SquashfsImage.open(await FileSource.open(fs.image));
  work = join(fs.dir, 'out');
  mkdirSync(work);
});
afterAll(async () => {
  await image.close();
  fs.cleanup();
});

function context(compression: LayerCompression = 'none'): { inner: Layer; ctx: CommitContext; layer: Layer } {
  const inner = createSquashfsLayer(image, {});
  const variants = new Map<LayerCompression, Layer>();
  const variant = (c: LayerCompression) => {
    if (!variants.has(c)) variants.set(c, compressLayer(inner, { compression: c }));
    return variants.get(c)!;
  };
  const ctx: CommitContext = {
    assemble: (format: ImageFormat, layers: readonly Layer[]) =>
      assembleImage({ format, layers, config: { architecture: 'amd64', created: '2023-11-14T22:13:20Z', entrypoint: ['/usr/bin/uai-ssh.sh'] } }),
    layerVariant: variant,
  };
  return { inner, ctx, layer: variant(compression) };
}

function skopeoInspect(ref: string, config = false): Record<string, unknown> {
  return JSON.parse(execFileSync('skopeo', ['inspect', ...(config ? ['--config'] : []), ref], { encoding: 'utf8' }));
}

function tempFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      if (name.includes('uai-tmp')) out.push(join(d, name));
      if (lstatSync(join(d, name)).isDirectory()) walk(join(d, name));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

describe('oci: layout', () => {
  it('writes a layout umoci unpacks, and merges a second tag into index.json', async () => {
    const dir = join(work, 'layout');
    for (const [tag, compression] of [['v1', 'gzip'], ['v2', 'none']] as const) {
      const dest = new OciLayoutDestination(parseDestination(`oci:${dir}:${tag}`) as never);
      const { ctx, layer } = context(compression);
      await dest.prepare();
      await dest.writeLayer(layer);
      const result = await dest.commit(ctx);
      expect(result.layer.mediaType).toBe(layer.mediaType);
      expect(existsSync(join(dir, 'blobs/sha256', result.manifestDigest.slice(7)))).toBe(true);
    }
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name']).sort()).toEqual(['v1', 'v2']);
    expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(skopeoInspect(`oci:${dir}:v1`)).toMatchObject({ Architecture: 'amd64', Os: 'linux' });

    const bundle = join(work, 'bundle-v1');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${dir}:v1`, bundle], { stdio: 'pipe' });
    expect(readFileSync(join(bundle, 'rootfs/etc/motd'), 'utf8')).toBe('hello from the compute node\n');
    expect(readFileSync(join(bundle, 'rootfs/usr/bin/uai-ssh.sh'), 'utf8')).toBe(UAI_SSH_SCRIPT);
    expect(statSync(join(bundle, 'rootfs/usr/bin/uai-ssh.sh')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(bundle, 'rootfs/bin')).isSymbolicLink()).toBe(true);
    expect(tempFiles(dir)).toEqual([]);
  });

  it('abort removes a layout it created, and leaves an existing one as it was', async () => {
    const fresh = join(work, 'fresh-layout');
    const dest = new OciLayoutDestination(parseDestination(`oci:${fresh}:x`) as never);
    await dest.prepare();
    await dest.writeLayer(context().layer);
    expect(existsSync(fresh)).toBe(true);
    await dest.abort();
    expect(existsSync(fresh)).toBe(false);

    const existing = join(work, 'layout');
    const before = readFileSync(join(existing, 'index.json'), 'utf8');
    const blobsBefore = readdirSync(join(existing, 'blobs/sha256')).sort();
    const again = new OciLayoutDestination(parseDestination(`oci:${existing}:v3`) as never);
    await again.prepare();
    await again.writeLayer(context('zstd').layer);
    await again.abort();
    expect(readFileSync(join(existing, 'index.json'), 'utf8')).toBe(before);
    expect(readdirSync(join(existing, 'blobs/sha256')).sort()).toEqual(blobsBefore);
  });

  it('refuses a directory that has index.json but no oci-layout', async () => {
    const bad = join(work, 'not-a-layout');
    mkdirSync(bad);
    writeFileSync(join(bad, 'index.json'), '{}');
    await expect(new OciLayoutDestination(parseDestination(`oci:${bad}`) as never).prepare()).rejects.toMatchObject({ code: 'UAI_DEST_NOT_LAYOUT' });
  });
});

describe('oci-archive:', () => {
  it('streams the layer into the archive; a failed first stream is retried in place; skopeo reads it', async () => {
    const file = join(work, 'image.oci.tar');
    const dest = new OciArchiveDestination(parseDestination(`oci-archive:${file}:v9`) as never, { mtime: 1700000000 });
    const { ctx, layer } = context('gzip');
    await dest.prepare();
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(3000).fill(7);
      throw new Error('connection lost');
    }
    await expect(dest.writeLayer(layer, { stream: broken() })).rejects.toThrow('connection lost');
    await dest.writeLayer(layer);
    const result = await dest.commit(ctx);
    expect(existsSync(file)).toBe(true);
    expect(tempFiles(work)).toEqual([]);
    const listing = execFileSync('tar', ['tf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toContain(`blobs/sha256/${result.layer.digest.slice(7)}`);
    expect(listing).toContain('index.json');
    expect(skopeoInspect(`oci-archive:${file}:v9`)).toMatchObject({ Digest: result.manifestDigest, Layers: [result.layer.digest] });
    const copy = join(work, 'from-archive');
    execFileSync('skopeo', ['copy', `oci-archive:${file}:v9`, `oci:${copy}:t`], { stdio: 'pipe' });
    expect(skopeoInspect(`oci:${copy}:t`, true)).toMatchObject({ config: { Entrypoint: ['/usr/bin/uai-ssh.sh'] } });
  });

  it('abort leaves no archive and no temporary file', async () => {
    const file = join(work, 'aborted.tar');
    const dest = new OciArchiveDestination(parseDestination(`oci-archive:${file}`) as never);
    await dest.prepare();
    await dest.writeLayer(context().layer);
    await dest.abort();
    expect(existsSync(file)).toBe(false);
    expect(tempFiles(work)).toEqual([]);
  });
});

describe('docker-archive:', () => {
  it('writes a docker-save tar that skopeo copies, with the uncompressed layer named by its diff_id', async () => {
    const file = join(work, 'image.docker.tar');
    const dest = new DockerArchiveDestination(parseDestination(`docker-archive:${file}:cray/uai:v1`) as never);
    expect(dest.layerCompression('gzip')).toBe('none');
    const { ctx, layer } = context('none');
    await dest.prepare();
    await dest.writeLayer(layer);
    const result = await dest.commit(ctx);
    const manifest = JSON.parse(execFileSync('tar', ['xOf', file, 'manifest.json'], { encoding: 'utf8' }));
    expect(manifest).toEqual([{ Config: `${result.configDigest.slice(7)}.json`, RepoTags: ['cray/uai:v1'], Layers: [`${layer.diffId().slice(7)}.tar`] }]);
    expect(skopeoInspect(`docker-archive:${file}`)).toMatchObject({ Architecture: 'amd64', RepoTags: [] });
    const copy = join(work, 'from-docker-archive');
    execFileSync('skopeo', ['copy', `docker-archive:${file}`, `oci:${copy}:t`], { stdio: 'pipe' });
    const bundle = join(work, 'bundle-docker');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${copy}:t`, bundle], { stdio: 'pipe' });
    expect(readFileSync(join(bundle, 'rootfs/etc/motd'), 'utf8')).toBe('hello from the compute node\n');

    // podman load (its own throwaway storage) takes it under the name given.
    const podman = ['--storage-driver', 'vfs', '--root', join(work, 'podman-root'), '--runroot', join(work, 'podman-run')];
    expect(execFileSync('podman', [...podman, 'load', '-i', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toContain('cray/uai:v1');
    const loaded = execFileSync('podman', [...podman, 'image', 'inspect', 'localhost/cray/uai:v1', '--format', '{{.Architecture}} {{.Config.Entrypoint}}'], {
      encoding: 'utf8',
    });
    expect(loaded.trim()).toBe('amd64 [/usr/bin/uai-ssh.sh]');
  });
});

describe('tar headers', () => {
  it('use the GNU base-256 size field past 8 GiB, which Python tarfile reads', () => {
    const size = 9 * 1024 ** 3 + 17;
    const header = tarHeader({ name: `blobs/sha256/${'c'.repeat(64)}`, size, mtime: 1700000000 });
    const parsed = execFileSync(
      'python3',
      ['-c', 'import sys,tarfile; t=tarfile.TarInfo.frombuf(sys.stdin.buffer.read(), "utf-8", "strict"); print(t.name, t.size, t.mtime)'],
      { input: header, encoding: 'utf8' },
    ).trim();
    expect(parsed).toBe(`blobs/sha256/${'c'.repeat(64)} ${size} 1700000000`);
  });
});
