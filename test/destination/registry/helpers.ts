/** Small helpers shared by the registry client tests. */
import { createHash, randomBytes } from 'node:crypto';
import type { BlobUpload, RegistryClientApi } from '../../../src/destination/registry/index.ts';

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function randomBlob(size: number): Buffer {
  return randomBytes(size);
}

/** A BlobUpload over `bytes` that yields `piece`-sized chunks and counts its opens. */
export function blobOf(bytes: Uint8Array, options: { piece?: number; known?: boolean; label?: string } = {}): BlobUpload & { opens: number } {
  const piece = options.piece ?? 64 * 1024;
  const blob = {
    opens: 0,
    label: options.label ?? 'layer',
    ...(options.known ? { digest: sha256(bytes), size: bytes.length } : {}),
    open(): AsyncIterable<Uint8Array> {
      blob.opens++;
      return (async function* () {
        for (let at = 0; at < bytes.length; at += piece) yield bytes.subarray(at, Math.min(bytes.length, at + piece));
      })();
    },
  };
  return blob;
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of stream) parts.push(p);
  return Buffer.concat(parts);
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

/** Pushes a one-layer image (layer, config, manifest) and returns the manifest's bytes and digests. */
export async function pushImage(client: RegistryClientApi, repo: string, tag: string, layer: Uint8Array) {
  const pushedLayer = await client.pushBlob(repo, blobOf(layer));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [pushedLayer.digest] } }));
  const pushedConfig = await client.pushBlob(repo, blobOf(config, { known: true, label: 'config' }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: pushedConfig.digest, size: pushedConfig.size },
      layers: [{ mediaType: OCI_LAYER, digest: pushedLayer.digest, size: pushedLayer.size }],
    }),
  );
  const { digest } = await client.putManifest(repo, tag, manifest, OCI_MANIFEST);
  return { manifest, digest, layer: pushedLayer, config: pushedConfig, configBytes: config };
}
