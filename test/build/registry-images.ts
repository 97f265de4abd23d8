/**
 * Multi-layer images pushed straight through the RegistryClient, for --uai-ssh-from:
 * a "stock UAI" whose uai-ssh.sh is in an early layer, later layers on top, optionally
 * a whiteout that deletes it.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { RegistryClient } from '../../src/destination/registry/index.ts';

export async function tarOf(files: Array<{ name: string; content?: string; mode?: number; type?: 'directory' }>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const f of files) {
    if (f.type === 'directory') p.entry({ name: f.name, type: 'directory', mode: 0o755 });
    else p.entry({ name: f.name, mode: f.mode ?? 0o644 }, f.content ?? '');
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Pushes an OCI image whose layers are the given tars (gzip'd when `gzip`). Returns the manifest digest. */
export async function pushLayers(host: string, repo: string, tag: string, tars: Buffer[], options: { gzip?: boolean } = {}): Promise<string> {
  const client = new RegistryClient(host, { tlsVerify: false });
  try {
    const layers = [];
    for (const tar of tars) {
      const blob = options.gzip ? gzipSync(tar) : tar;
      await client.pushBlob(repo, { digest: sha(blob), size: blob.length, open: async function* () { yield blob; } });
      layers.push({ mediaType: `application/vnd.oci.image.layer.v1.tar${options.gzip ? '+gzip' : ''}`, digest: sha(blob), size: blob.length });
    }
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: tars.map(sha) }, config: {} }));
    await client.pushBlob(repo, { digest: sha(config), size: config.length, open: async function* () { yield config; } });
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
        layers,
      }),
    );
    return (await client.putManifest(repo, tag, manifest, 'application/vnd.oci.image.manifest.v1+json')).digest;
  } finally {
    await client.close();
  }
}

/** The tags of a repository, or [] when the registry does not know it. */
export async function tagsOf(url: string, repo: string): Promise<string[]> {
  const res = await fetch(`${url}/v2/${repo}/tags/list`);
  if (res.status === 404) {
    await res.body?.cancel();
    return [];
  }
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}
