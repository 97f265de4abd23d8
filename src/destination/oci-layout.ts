/**
 * `oci:DIR[:TAG]`: an OCI image layout directory (image-spec image-layout.md). Blobs are
 * streamed into a temporary file inside `blobs/sha256/` and renamed to their digest once
 * the stream has ended; `index.json` is written last (temp + rename) and merged with an
 * existing one, replacing the entry with the same `org.opencontainers.image.ref.name`.
 * On abort every temporary file and every blob this run added is removed, and a layout
 * directory this run created is removed whole.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { digestHex, sha256Digest, type Descriptor } from '../image/digest.ts';
import { OCI_INDEX } from '../image/media-types.ts';
import type { LayerCompression } from '../layer/compression/compressed-layer.ts';
import type { Layer } from '../layer/layer.ts';
import type { CommitContext, Destination, DestinationOptions, DestinationResult, WriteLayerOptions } from './destination.ts';
import { DestinationError } from './errors.ts';
import { describeDestination, type DestinationRef } from './transport.ts';

export const REF_NAME = 'org.opencontainers.image.ref.name';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function ioError(path: string, what: string, cause: unknown): DestinationError {
  return new DestinationError('UAI_DEST_IO', `${path}: ${what}: ${(cause as Error).message}`, { cause, details: { path } });
}

/** Writes blobs and index.json of one layout directory. Also used by oci-archive through a staging-free tar. */
export class OciLayoutDestination implements Destination {
  readonly ref: Extract<DestinationRef, { transport: 'oci' }>;
  readonly description: string;
  readonly #dir: string;
  #createdDir = false;
  #committed = false;
  readonly #temps = new Set<string>();
  readonly #addedBlobs = new Set<string>();
  readonly #layers: Layer[] = [];

  constructor(ref: Extract<DestinationRef, { transport: 'oci' }>, options: { cwd?: string } = {}) {
    this.ref = ref;
    this.description = describeDestination(ref);
    this.#dir = resolve(options.cwd ?? process.cwd(), ref.path);
  }

  layerCompression(requested: LayerCompression): LayerCompression {
    return requested;
  }

  async prepare(_options: DestinationOptions = {}): Promise<void> {
    const dir = this.#dir;
    let st;
    try {
      st = await stat(dir);
    } catch {
      st = undefined;
    }
    if (st) {
      if (!st.isDirectory()) throw new DestinationError('UAI_DEST_NOT_LAYOUT', `${dir}: exists and is not a directory`, { details: { path: dir } });
      const hasLayout = await exists(join(dir, 'oci-layout'));
      const hasIndex = await exists(join(dir, 'index.json'));
      if (hasIndex && !hasLayout) {
        throw new DestinationError('UAI_DEST_NOT_LAYOUT', `${dir}: has index.json but no oci-layout file: not an OCI image layout`, { details: { path: dir } });
      }
      if (hasIndex) await this.#readIndex(); // fail now, not after the upload, if it is damaged
    } else {
      try {
        await mkdir(dir, { recursive: true });
      } catch (cause) {
        throw ioError(dir, 'cannot create the layout directory', cause);
      }
      this.#createdDir = true;
    }
    try {
      await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    } catch (cause) {
      throw ioError(dir, 'cannot create blobs/sha256', cause);
    }
  }

  async #readIndex(): Promise<{ schemaVersion: number; manifests: Descriptor[]; [k: string]: unknown }> {
    const path = join(this.#dir, 'index.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
      throw ioError(path, 'cannot read', cause);
    }
    try {
      const index = JSON.parse(text) as { schemaVersion?: unknown; manifests?: unknown };
      if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) throw new Error('schemaVersion is not 2 or manifests is not an array');
      return index as { schemaVersion: number; manifests: Descriptor[] };
    } catch (cause) {
      throw new DestinationError('UAI_DEST_NOT_LAYOUT', `${path}: not a valid image index: ${(cause as Error).message}`, { cause, details: { path } });
    }
  }

  #tempPath(): string {
    const p = join(this.#dir, 'blobs', 'sha256', `.uai-tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    this.#temps.add(p);
    return p;
  }

  async #commitBlob(temp: string, digest: string): Promise<void> {
    const final = join(this.#dir, 'blobs', 'sha256', digestHex(digest));
    if (await exists(final)) {
      await unlink(temp).catch(() => undefined);
    } else {
      try {
        await rename(temp, final);
      } catch (cause) {
        throw ioError(final, 'cannot rename the blob into place', cause);
      }
      this.#addedBlobs.add(final);
    }
    this.#temps.delete(temp);
  }

  async writeLayer(layer: Layer, options: WriteLayerOptions = {}): Promise<void> {
    const temp = this.#tempPath();
    const handle = await open(temp, 'w', 0o644).catch((cause: unknown) => {
      throw ioError(temp, 'cannot create', cause);
    });
    try {
      const stream = options.stream ?? layer.open({ signal: options.signal });
      let position = 0;
      for await (const chunk of stream) {
        options.signal?.throwIfAborted();
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position);
          done += bytesWritten;
          position += bytesWritten;
        }
      }
      await handle.close();
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      this.#temps.delete(temp);
      throw err;
    }
    await this.#commitBlob(temp, layer.digest());
    this.#layers.push(layer);
  }

  async #writeBlob(bytes: Uint8Array): Promise<string> {
    const digest = sha256Digest(bytes);
    const temp = this.#tempPath();
    try {
      await writeFile(temp, bytes, { mode: 0o644 });
    } catch (cause) {
      throw ioError(temp, 'cannot write', cause);
    }
    await this.#commitBlob(temp, digest);
    return digest;
  }

  async commit(context: CommitContext, options: DestinationOptions = {}): Promise<DestinationResult> {
    const image = context.assemble('oci', this.#layers);
    await this.#writeBlob(image.config.bytes);
    options.signal?.throwIfAborted();
    await this.#writeBlob(image.manifest.bytes);
    options.signal?.throwIfAborted();
    const dir = this.#dir;
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}').catch((cause: unknown) => {
      throw ioError(dir, 'cannot write oci-layout', cause);
    });
    const index = await this.#readIndex();
    const descriptor: Descriptor = { ...image.manifest.descriptor, annotations: { [REF_NAME]: this.ref.tag }, platform: image.platform };
    index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== this.ref.tag);
    index.manifests.push(descriptor);
    if (index.mediaType === undefined) index.mediaType = OCI_INDEX;
    const temp = join(dir, `.index.json.uai-tmp-${randomBytes(6).toString('hex')}`);
    this.#temps.add(temp);
    try {
      await writeFile(temp, `${JSON.stringify(index)}\n`);
      await rename(temp, join(dir, 'index.json'));
    } catch (cause) {
      throw ioError(join(dir, 'index.json'), 'cannot write', cause);
    }
    this.#temps.delete(temp);
    this.#addedBlobs.clear(); // now referenced: kept
    this.#committed = true;
    const layer = this.#layers[0]!;
    return {
      destination: this.ref.raw,
      transport: 'oci',
      format: 'oci',
      manifestDigest: image.manifest.descriptor.digest,
      configDigest: image.config.descriptor.digest,
      layer: { digest: layer.digest(), diffId: layer.diffId(), size: layer.size(), mediaType: layer.mediaType },
      reference: `oci:${this.ref.path}:${this.ref.tag}`,
    };
  }

  async abort(): Promise<void> {
    if (this.#committed) return;
    for (const p of this.#temps) await rm(p, { force: true }).catch(() => undefined);
    this.#temps.clear();
    for (const p of this.#addedBlobs) await rm(p, { force: true }).catch(() => undefined);
    this.#addedBlobs.clear();
    if (this.#createdDir) await rm(this.#dir, { recursive: true, force: true }).catch(() => undefined);
  }

  async close(): Promise<void> {}
}
