/**
 * `--uai-ssh-from docker://REF`: take `/usr/bin/uai-ssh.sh` out of a stock UAI image in a
 * registry, as the CSM procedure's fallback does by hand (copy it out of a UAI). The
 * manifest is read through the RegistryClient, layers are searched from the last to the
 * first, and whiteouts in later layers are honoured (`.wh.uai-ssh.sh`, a whited-out or
 * opaque parent directory): the file that a container of that image would see is taken.
 * The result is injected root-owned with mode 0755. A layer is always read to its end,
 * even when the file comes early in it: the registry client checks the blob's digest
 * only there, and a script that goes into every UAI must come from verified bytes.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { UaiError } from '../errors.ts';
import { parseDockerReference } from '../destination/transport.ts';
import type { RegistryClientApi, RegistryClientOptions } from '../destination/registry/client-api.ts';
import { RegistryClient } from '../destination/registry/client.ts';
import type { Injection } from '../layer/inject.ts';

export const UAI_SSH_PATH = 'usr/bin/uai-ssh.sh';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

interface ManifestDoc {
  mediaType?: string;
  manifests?: Array<{ digest: string; mediaType?: string; platform?: { architecture?: string; os?: string } }>;
  layers?: Array<{ digest: string; mediaType: string; size: number }>;
}

function fail(ref: string, why: string, cause?: unknown): UaiError {
  return new UaiError('UAI_IMAGE_UAI_SSH_FROM', `--uai-ssh-from ${ref}: ${why}`, { ...(cause ? { cause } : {}), details: { reference: ref } });
}

type Found = { kind: 'file'; content: Uint8Array } | { kind: 'hidden' } | { kind: 'absent' };

function normalize(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * What one layer says about `target`: the file, a whiteout that hides it, or nothing.
 * The whole blob is read (the client verifies its digest at the end), and a failure of
 * the download, of the decompression or of that check is thrown, never a partial answer.
 */
async function searchLayer(stream: AsyncIterable<Uint8Array>, mediaType: string, target: string): Promise<Found> {
  // Loaded here: only --uai-ssh-from reads tars, and every `build` loads this module.
  const { extract } = await import('tar-stream');
  const gunzip = mediaType.includes('gzip')
    ? zlib.createGunzip()
    : mediaType.includes('zstd')
      ? (zlib as unknown as { createZstdDecompress: () => NodeJS.ReadWriteStream }).createZstdDecompress()
      : undefined;
  const parts = target.split('/');
  const dir = parts.slice(0, -1).join('/');
  const base = parts[parts.length - 1]!;
  // Whiteouts that hide target in lower layers: .wh.<name> of it or any ancestor, or an opaque ancestor.
  const hiding = new Set<string>([`${dir}/.wh.${base}`]);
  for (let i = 1; i < parts.length; i++) {
    const ancestor = parts.slice(0, i);
    hiding.add([...ancestor.slice(0, -1), `.wh.${ancestor[ancestor.length - 1]}`].join('/'));
    hiding.add([...ancestor, '.wh..wh..opq'].join('/'));
  }
  hiding.add('.wh..wh..opq');
  let result: Found = { kind: 'absent' };
  const tar = extract();
  // pipeline() forwards an error of any stage (a digest mismatch at the blob's end, a
  // damaged gzip stream) to the others, so the loop below ends with it instead of waiting.
  const piped = pipeline([Readable.from(stream, { objectMode: false }), ...(gunzip ? [gunzip] : []), tar]);
  piped.catch(() => {}); // awaited below; avoid an unhandled rejection while the loop runs
  try {
    for await (const entry of tar) {
      const name = normalize(entry.header.name);
      // A file entry wins over a whiteout of the same layer (those hide lower layers
      // only), and a later entry of the same path over an earlier one, as in extraction.
      if (name === target && entry.header.type === 'file') {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        result = { kind: 'file', content: Buffer.concat(chunks) };
        continue;
      }
      if (hiding.has(name) && result.kind === 'absent') result = { kind: 'hidden' };
      entry.resume();
    }
  } catch (err) {
    tar.destroy();
    await piped.catch(() => {});
    throw err;
  }
  await piped;
  return result;
}

export interface UaiSshFromOptions {
  registry?: RegistryClientOptions;
  /** The architecture to pick from a multi-arch index (default: the first linux entry). */
  architecture?: string;
  signal?: AbortSignal;
  /** For tests: the client to use. */
  client?: RegistryClientApi;
}

/** Reads `/usr/bin/uai-ssh.sh` out of the image at `docker://HOST/REPO[:TAG]`. */
export async function fetchUaiSsh(reference: string, options: UaiSshFromOptions = {}): Promise<Injection> {
  if (!reference.startsWith('docker://')) throw fail(reference, 'expected docker://HOST/REPO[:TAG]');
  const rest = reference.slice('docker://'.length);
  // A digest's `@` follows the repository; an `@` before the last `/` is USER:PASS@ (refused by parseDockerReference).
  const at = rest.indexOf('@', rest.lastIndexOf('/') + 1);
  const { host, repository, tag } = parseDockerReference(reference, at >= 0 ? rest.slice(0, at) : rest);
  const ref = at >= 0 ? rest.slice(at + 1) : tag;
  const client = options.client ?? new RegistryClient(host, options.registry ?? {});
  const signal = options.signal;
  try {
    let fetched = await client.getManifest(repository, ref, MANIFEST_TYPES, signal);
    let doc = JSON.parse(new TextDecoder().decode(fetched.body)) as ManifestDoc;
    if (Array.isArray(doc.manifests)) {
      const pick =
        doc.manifests.find((m) => m.platform?.os === 'linux' && (!options.architecture || m.platform.architecture === options.architecture)) ??
        doc.manifests[0];
      if (!pick) throw fail(reference, 'the image index lists no manifests');
      fetched = await client.getManifest(repository, pick.digest, MANIFEST_TYPES, signal);
      doc = JSON.parse(new TextDecoder().decode(fetched.body)) as ManifestDoc;
    }
    const layers = doc.layers ?? [];
    for (let i = layers.length - 1; i >= 0; i--) {
      signal?.throwIfAborted();
      const layer = layers[i]!;
      const found = await searchLayer(client.getBlob(repository, layer.digest, signal), layer.mediaType, UAI_SSH_PATH);
      if (found.kind === 'file') return { dest: `/${UAI_SSH_PATH}`, content: found.content, mode: 0o755, uid: 0, gid: 0 };
      if (found.kind === 'hidden') throw fail(reference, `/${UAI_SSH_PATH} is deleted by a whiteout in layer ${i} (${layer.digest})`);
    }
    throw fail(reference, `no layer of ${host}/${repository}:${ref} contains /${UAI_SSH_PATH}`);
  } catch (err) {
    if (err instanceof UaiError || signal?.aborted) throw err;
    throw fail(reference, (err as Error).message, err);
  } finally {
    if (!options.client) await client.close();
  }
}
