/**
 * docker:// destinations against the real docker-registry (distribution 2.8), checked
 * with skopeo; the OCI → Docker schema2 fallback through the fault proxy.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDestination, RegistryDestination, type CommitContext } from '../../src/destination/index.ts';
import type { Warning } from '../../src/errors.ts';
import { assembleImage, type ImageFormat } from '../../src/image/index.ts';
import { compressLayer, type LayerCompression } from '../../src/layer/compression/index.ts';
import { createSquashfsLayer } from '../../src/layer/index.ts';
import type { Layer } from '../../src/layer/layer.ts';
import { FileSource } from '../../src/source/file.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { makeTinyRootfs, type TinyRootfs } from '../build/tiny-rootfs.ts';

let fs: TinyRootfs;
let image: SquashfsImage;
let reg: TestRegistry;
let proxy: FaultProxy;

beforeAll(async () => {
  fs = makeTinyRootfs();
  image = await SquashfsImage.open(await FileSource.open(fs.image));
  reg = await startRegistry({ mode: 'plain' });
  proxy = await startFaultProxy(reg.url);
});
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  await image?.close();
  fs?.cleanup();
});

function context(): { ctx: CommitContext; variant: (c: LayerCompression) => Layer; opens: () => number } {
  const inner = createSquashfsLayer(image, {});
  let opens = 0;
  const counted: Layer = { ...inner, mediaType: inner.mediaType, digest: () => inner.digest(), diffId: () => inner.diffId(), size: () => inner.size(), open: (o) => (opens++, inner.open(o)) };
  const variants = new Map<LayerCompression, Layer>();
  const variant = (c: LayerCompression) => {
    if (!variants.has(c)) variants.set(c, compressLayer(counted, { compression: c }));
    return variants.get(c)!;
  };
  return {
    ctx: {
      assemble: (format: ImageFormat, layers: readonly Layer[]) =>
        assembleImage({ format, layers, config: { architecture: 'amd64', created: '2023-11-14T22:13:20Z', entrypoint: ['/usr/bin/uai-ssh.sh'] } }),
      layerVariant: variant,
    },
    variant,
    opens: () => opens,
  };
}

function inspect(host: string, ref: string, raw = false): Record<string, any> {
  return JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', ...(raw ? ['--raw'] : []), `docker://${host}/${ref}`], { encoding: 'utf8' }));
}

describe('RegistryDestination', () => {
  it('pushes layer, config, then the manifest by tag (OCI), as skopeo sees it', async () => {
    const dest = new RegistryDestination(parseDestination(`docker://${reg.host}/cray/uai:v1`) as never);
    const { ctx, variant } = context();
    await dest.prepare();
    const layer = variant('gzip');
    await dest.writeLayer(layer);
    const result = await dest.commit(ctx);
    await dest.close();
    expect(result.reference).toBe(`${reg.host}/cray/uai@${result.manifestDigest}`);
    const seen = inspect(reg.host, 'cray/uai:v1');
    expect(seen).toMatchObject({ Digest: result.manifestDigest, Architecture: 'amd64', Layers: [layer.digest()] });
    const raw = inspect(reg.host, 'cray/uai:v1', true);
    expect(raw.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(raw.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
  });

  it('format docker: schema2 with a gzip layer', async () => {
    const dest = new RegistryDestination(parseDestination(`docker://${reg.host}/cray/uai:docker`) as never, { format: 'docker' });
    expect(dest.layerCompression('none')).toBe('gzip');
    const { ctx, variant } = context();
    await dest.prepare();
    await dest.writeLayer(variant('gzip'));
    const result = await dest.commit(ctx);
    await dest.close();
    const raw = inspect(reg.host, 'cray/uai:docker', true);
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(raw.config.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    expect(raw.layers[0].mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect(result.format).toBe('docker');
  });

  it('falls back to Docker schema2 with a regenerated gzip layer when the OCI manifest is refused, and warns', async () => {
    proxy.fault({
      method: 'PUT',
      path: /\/manifests\//,
      action: { type: 'respond', status: 400, headers: { 'content-type': 'application/json' }, body: '{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}' },
    });
    const warnings: Warning[] = [];
    const dest = new RegistryDestination(parseDestination(`docker://${proxy.host}/cray/fallback:v1`) as never, { onWarning: (w) => warnings.push(w) });
    const { ctx, variant, opens } = context();
    await dest.prepare();
    await dest.writeLayer(variant('none'));
    const result = await dest.commit(ctx);
    await dest.close();
    expect(proxy.pending()).toEqual([]);
    expect(warnings.map((w) => w.code)).toEqual(['UAI_DEST_FORMAT_FALLBACK']);
    expect(opens()).toBe(2); // the tar once, then regenerated for the gzip layer
    expect(result.format).toBe('docker');
    const raw = inspect(reg.host, 'cray/fallback:v1', true);
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(raw.layers).toEqual([{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: variant('gzip').digest(), size: variant('gzip').size() }]);
    expect(inspect(reg.host, 'cray/fallback:v1').Digest).toBe(result.manifestDigest);
    const manifestPuts = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/manifests/'));
    expect(manifestPuts.map((r) => r.headers['content-type'])).toEqual([
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.v2+json',
    ]);
  });

  it('does not fall back on other manifest errors', async () => {
    proxy.fault({ method: 'PUT', path: /\/manifests\//, action: { type: 'respond', status: 403, body: '{"errors":[{"code":"DENIED","message":"no"}]}' } });
    const dest = new RegistryDestination(parseDestination(`docker://${proxy.host}/cray/denied:v1`) as never, { client: { retries: 0 } });
    const { ctx, variant } = context();
    await dest.prepare();
    await dest.writeLayer(variant('none'));
    await expect(dest.commit(ctx)).rejects.toMatchObject({ code: 'UAI_REGISTRY_DENIED' });
    await dest.close();
  });
});
