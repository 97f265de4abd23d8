/**
 * `oci-archive:FILE[:TAG]`: a tar of an OCI image layout (what `skopeo copy … oci-archive:`
 * writes and reads). The layer streams straight into the archive file under a reserved
 * header that is filled in with the blob's digest-derived name and size when the stream
 * ends. The archive is written fresh each time (an existing FILE is replaced on commit,
 * not merged).
 */
import { sha256Digest, digestHex } from '../image/digest.ts';
import { OCI_INDEX } from '../image/media-types.ts';
import type { LayerCompression } from '../layer/compression/compressed-layer.ts';
import type { Layer } from '../layer/layer.ts';
import { ArchiveFile } from './archive-file.ts';
import type { CommitContext, Destination, DestinationOptions, DestinationResult, WriteLayerOptions } from './destination.ts';
import { REF_NAME } from './oci-layout.ts';
import { describeDestination, type DestinationRef } from './transport.ts';

export class OciArchiveDestination implements Destination {
  readonly ref: Extract<DestinationRef, { transport: 'oci-archive' }>;
  readonly description: string;
  readonly #file: ArchiveFile;
  readonly #layers: Layer[] = [];
  #started = false;

  constructor(ref: Extract<DestinationRef, { transport: 'oci-archive' }>, options: { cwd?: string; mtime?: number } = {}) {
    this.ref = ref;
    this.description = describeDestination(ref);
    this.#file = new ArchiveFile(ref.path, options);
  }

  layerCompression(requested: LayerCompression): LayerCompression {
    return requested;
  }

  async prepare(_options: DestinationOptions = {}): Promise<void> {
    await this.#file.check();
  }

  async #start() {
    const tar = await this.#file.writer();
    if (!this.#started) {
      this.#started = true;
      await tar.addFile('oci-layout', new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}'));
      await tar.addDirectory('blobs/');
      await tar.addDirectory('blobs/sha256/');
    }
    return tar;
  }

  async writeLayer(layer: Layer, options: WriteLayerOptions = {}): Promise<void> {
    const tar = await this.#start();
    const stream = options.stream ?? layer.open({ signal: options.signal });
    await tar.addStream(stream, () => `blobs/sha256/${digestHex(layer.digest())}`, { signal: options.signal });
    this.#layers.push(layer);
  }

  async commit(context: CommitContext, options: DestinationOptions = {}): Promise<DestinationResult> {
    const tar = await this.#start();
    const image = context.assemble('oci', this.#layers);
    await tar.addFile(`blobs/sha256/${digestHex(image.config.descriptor.digest)}`, image.config.bytes);
    await tar.addFile(`blobs/sha256/${digestHex(image.manifest.descriptor.digest)}`, image.manifest.bytes);
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...image.manifest.descriptor, annotations: { [REF_NAME]: this.ref.tag }, platform: image.platform }],
    };
    await tar.addFile('index.json', new TextEncoder().encode(`${JSON.stringify(index)}\n`));
    options.signal?.throwIfAborted();
    await this.#file.commit();
    const layer = this.#layers[0]!;
    return {
      destination: this.ref.raw,
      transport: 'oci-archive',
      format: 'oci',
      manifestDigest: image.manifest.descriptor.digest,
      configDigest: sha256Digest(image.config.bytes),
      layer: { digest: layer.digest(), diffId: layer.diffId(), size: layer.size(), mediaType: layer.mediaType },
      reference: `oci-archive:${this.ref.path}:${this.ref.tag}`,
    };
  }

  async abort(): Promise<void> {
    await this.#file.abort();
  }

  async close(): Promise<void> {}
}
