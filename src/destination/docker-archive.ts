/**
 * `docker-archive:FILE[:REPO:TAG]`: the `docker save` format (manifest.json, the config
 * as `<hex>.json`, each layer as `<diffid hex>.tar`), loadable by `docker load` and
 * `podman load` and read by `skopeo copy docker-archive:`. Like containers/image's
 * docker-archive writer it stores layers uncompressed, whatever `--compression` says.
 * The layer streams straight into the archive file (header patched after the stream).
 */
import { digestHex } from '../image/digest.ts';
import type { LayerCompression } from '../layer/compression/compressed-layer.ts';
import type { Layer } from '../layer/layer.ts';
import { ArchiveFile } from './archive-file.ts';
import type { CommitContext, Destination, DestinationOptions, DestinationResult, WriteLayerOptions } from './destination.ts';
import { DestinationError } from './errors.ts';
import { describeDestination, type DestinationRef } from './transport.ts';

export class DockerArchiveDestination implements Destination {
  readonly ref: Extract<DestinationRef, { transport: 'docker-archive' }>;
  readonly description: string;
  readonly #file: ArchiveFile;
  readonly #layers: Layer[] = [];

  constructor(ref: Extract<DestinationRef, { transport: 'docker-archive' }>, options: { cwd?: string; mtime?: number } = {}) {
    this.ref = ref;
    this.description = describeDestination(ref);
    this.#file = new ArchiveFile(ref.path, options);
  }

  layerCompression(_requested: LayerCompression): LayerCompression {
    return 'none';
  }

  async prepare(_options: DestinationOptions = {}): Promise<void> {
    await this.#file.check();
  }

  async writeLayer(layer: Layer, options: WriteLayerOptions = {}): Promise<void> {
    if (layer.mediaType !== 'application/vnd.oci.image.layer.v1.tar') {
      throw new DestinationError('UAI_DEST_LAYER_MISMATCH', `${this.description}: docker archives hold uncompressed layers, got ${layer.mediaType}`);
    }
    const tar = await this.#file.writer();
    const stream = options.stream ?? layer.open({ signal: options.signal });
    await tar.addStream(stream, () => `${digestHex(layer.diffId())}.tar`, { signal: options.signal });
    this.#layers.push(layer);
  }

  async commit(context: CommitContext, options: DestinationOptions = {}): Promise<DestinationResult> {
    const tar = await this.#file.writer();
    const image = context.assemble('oci', this.#layers);
    const configName = `${digestHex(image.config.descriptor.digest)}.json`;
    await tar.addFile(configName, image.config.bytes);
    const manifest = [
      {
        Config: configName,
        RepoTags: this.ref.repoTag ? [this.ref.repoTag] : [],
        Layers: this.#layers.map((l) => `${digestHex(l.diffId())}.tar`),
      },
    ];
    await tar.addFile('manifest.json', new TextEncoder().encode(`${JSON.stringify(manifest)}\n`));
    options.signal?.throwIfAborted();
    await this.#file.commit();
    const layer = this.#layers[0]!;
    return {
      destination: this.ref.raw,
      transport: 'docker-archive',
      format: 'docker',
      manifestDigest: image.manifest.descriptor.digest,
      configDigest: image.config.descriptor.digest,
      layer: { digest: layer.digest(), diffId: layer.diffId(), size: layer.size(), mediaType: layer.mediaType },
      reference: `docker-archive:${this.ref.path}${this.ref.repoTag ? `:${this.ref.repoTag}` : ''}`,
    };
  }

  async abort(): Promise<void> {
    await this.#file.abort();
  }

  async close(): Promise<void> {}
}
