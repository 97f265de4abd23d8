/**
 * Pushes to the real docker-registry (distribution 2.8) in each mode, checks the result
 * with skopeo and by reading it back with our client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, RegistryError } from '../../../src/destination/registry/index.ts';
import { skopeo, startRegistry, type RegistryMode, type TestRegistry } from '../../support/registry.ts';
import { OCI_MANIFEST, blobOf, collect, pushImage, randomBlob, sha256 } from './helpers.ts';

describe.each<RegistryMode>(['plain', 'tls-basic', 'token'])('push to a real registry (%s)', (mode) => {
  let reg: TestRegistry;
  let client: RegistryClient;
  const progress: number[] = [];

  beforeAll(async () => {
    reg = await startRegistry({ mode });
    client = new RegistryClient(reg.host, {
      ...(reg.caFile === undefined ? {} : { caFile: reg.caFile }),
      ...(reg.creds === undefined ? {} : { creds: reg.creds }),
      retryDelayMs: 10,
      onProgress: (e) => progress.push(e.bytes),
    });
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
  });

  it('checks push access first', async () => {
    await expect(client.checkAccess('uai/check', ['pull', 'push'])).resolves.toBeUndefined();
    expect(await client.baseUrl()).toBe(reg.url);
  });

  it('pushes a layer, a config and a manifest that skopeo reads back', async () => {
    const layer = randomBlob(300_000);
    const pushed = await pushImage(client, 'uai/image', 'v1', layer);
    expect(pushed.layer).toEqual({ digest: sha256(layer), size: layer.length, existed: false });
    expect(pushed.digest).toBe(sha256(pushed.manifest));
    expect(progress.at(-1)).toBeGreaterThan(0);
    expect(progress).toContain(layer.length);

    const raw = await skopeo(['inspect', '--raw', ...reg.skopeoArgs, `docker://${reg.host}/uai/image:v1`]);
    expect(Buffer.from(raw)).toEqual(pushed.manifest);
    const info = JSON.parse(await skopeo(['inspect', ...reg.skopeoArgs, `docker://${reg.host}/uai/image:v1`])) as { Digest: string; Layers: string[] };
    expect(info.Digest).toBe(pushed.digest);
    expect(info.Layers).toEqual([sha256(layer)]);
    const config = JSON.parse(await skopeo(['inspect', '--config', '--raw', ...reg.skopeoArgs, `docker://${reg.host}/uai/image:v1`])) as { rootfs: { diff_ids: string[] } };
    expect(config.rootfs.diff_ids).toEqual([sha256(layer)]);

    expect(await collect(client.getBlob('uai/image', sha256(layer)))).toEqual(layer);
    const fetched = await client.getManifest('uai/image', 'v1', [OCI_MANIFEST]);
    expect(fetched).toEqual({ body: new Uint8Array(pushed.manifest), mediaType: OCI_MANIFEST, digest: pushed.digest });
    const byDigest = await client.getManifest('uai/image', pushed.digest, [OCI_MANIFEST]);
    expect(byDigest.digest).toBe(pushed.digest);
  });

  it('skips a blob the registry has (HEAD) without opening it', async () => {
    const bytes = randomBlob(10_000);
    const first = await client.pushBlob('uai/skip', blobOf(bytes));
    expect(first.existed).toBe(false);
    const again = blobOf(bytes, { known: true });
    const second = await client.pushBlob('uai/skip', again);
    expect(second).toEqual({ digest: sha256(bytes), size: bytes.length, existed: true });
    expect(again.opens).toBe(0);
    expect(await client.blobExists('uai/skip', sha256(bytes))).toBe(true);
    expect(await client.blobExists('uai/skip', sha256(randomBlob(10)))).toBe(false);
  });

  it('uses the shared first stream, and pushes a zero-byte blob', async () => {
    const bytes = randomBlob(5000);
    const blob = blobOf(bytes);
    const shared = blobOf(bytes).open();
    const pushed = await client.pushBlob('uai/shared', blob, { stream: shared });
    expect(pushed.digest).toBe(sha256(bytes));
    expect(blob.opens).toBe(0);
    const empty = await client.pushBlob('uai/shared', blobOf(new Uint8Array(0)));
    expect(empty).toEqual({ digest: sha256(new Uint8Array(0)), size: 0, existed: false });
    expect(await collect(client.getBlob('uai/shared', empty.digest))).toHaveLength(0);
  });

  it('reports a manifest whose blobs are missing as MANIFEST_BLOB_UNKNOWN', async () => {
    const missing = sha256(randomBlob(16));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: missing, size: 16 },
        layers: [],
      }),
    );
    const err = await client.putManifest('uai/missing', 'v1', manifest, OCI_MANIFEST).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_MANIFEST_BLOB_UNKNOWN');
    expect((err as RegistryError).status).toBe(400);
    expect((err as RegistryError).message).toContain('MANIFEST_BLOB_UNKNOWN');
  });

  it('rejects a manifest sent with the wrong Content-Type (MANIFEST_INVALID from the registry)', async () => {
    const { manifest } = await pushImage(client, 'uai/ctype', 'v1', randomBlob(1000));
    const err = await client
      .putManifest('uai/ctype', 'v2', manifest, 'application/vnd.docker.distribution.manifest.v2+json')
      .catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_MANIFEST_INVALID');
  });

  it('fails when the bytes do not hash to the known digest, and stores nothing under it', async () => {
    const bytes = randomBlob(2000);
    const wrong = { ...blobOf(bytes), digest: sha256(randomBlob(2000)), size: 2000 };
    const err = await client.pushBlob('uai/wrong', wrong).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_DIGEST_INVALID');
    expect(await client.blobExists('uai/wrong', wrong.digest)).toBe(false);
  });

  it('fetches a blob by digest and notices a missing one', async () => {
    const err = await collect(client.getBlob('uai/image', sha256(randomBlob(8)))).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_BLOB_UNKNOWN');
    expect((err as RegistryError).status).toBe(404);
  });
});

describe('chunked uploads (opt-in chunkSize)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ mode: 'plain' });
  });
  afterAll(async () => reg?.stop());

  it('sends Content-Range chunks and commits the right blob', async () => {
    const client = new RegistryClient(reg.host, { chunkSize: 64 * 1024, retryDelayMs: 10 });
    const bytes = randomBlob(64 * 1024 * 3 + 123);
    const pushed = await client.pushBlob('uai/chunks', blobOf(bytes, { piece: 10_000 }));
    expect(pushed).toEqual({ digest: sha256(bytes), size: bytes.length, existed: false });
    expect(await collect(client.getBlob('uai/chunks', pushed.digest))).toEqual(bytes);
    await client.close();
  });
});
