/**
 * `build(options)`: the library's one call from a SquashFS to published images.
 *
 *   resolve SOURCE → open the reader → decide arch, created, entrypoint; check the UAI
 *   profile's /usr/bin/uai-ssh.sh (fail here, before anything is published) → open every
 *   DEST and check access → stream the layer once per compression, teed to the
 *   destinations → config and manifest per destination → tag.
 */
import type { Destination, DestinationResult } from '../destination/destination.ts';
import { openDestination } from '../destination/open-destination.ts';
import { UaiError } from '../errors.ts';
import { assembleImage, type Image } from '../image/image.ts';
import type { ImageFormat } from '../image/media-types.ts';
import { compressLayer, type LayerCompression } from '../layer/compression/compressed-layer.ts';
import type { Layer } from '../layer/layer.ts';
import { createSquashfsLayer } from '../layer/squashfs-layer.ts';
import { SquashfsError } from '../squashfs/errors.ts';
import { checkBuildOptions, decideFromRootfs, type BuildOptions } from './build-options.ts';
import { buildSource, openSquashfs, type BuildImage } from './open-image.ts';
import { countingLayer } from './rootfs-checks.ts';
import { publish } from './publish.ts';

export { UAI_ENTRYPOINT, compressionConflict, type BuildOptions } from './build-options.ts';

export interface BuildResult {
  manifestDigest: string;
  configDigest: string;
  layer: { digest: string; diffId: string; size: number; mediaType: string };
  architecture: string;
  variant?: string;
  created: string;
  /** One per destination: `HOST/REPO@sha256:…`, `oci:DIR:TAG`, … */
  references: string[];
  destinations: DestinationResult[];
  timings: { resolveMs: number; checkMs: number; publishMs: number; totalMs: number };
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  const t0 = performance.now();
  const signal = options.signal;
  const checked = checkBuildOptions(options);
  const { profile, compression, format, refs, env, labels, annotations, environment, registry } = checked;

  options.onProgress?.({ phase: 'resolve' });
  const { source, origin, declaredArch, owned: ownSource } = await buildSource(options.source, {
    env: environment,
    ...(options.resolve ? { resolve: options.resolve } : {}),
    ...(signal ? { signal } : {}),
  });
  let image: BuildImage | undefined;
  try {
    image = await openSquashfs(source, { ...(signal ? { signal } : {}), ...(options.onWarning ? { onWarning: options.onWarning } : {}) });
    const t1 = performance.now();
    options.onProgress?.({ phase: 'check' });

    // Everything that can fail for a reason in the rootfs or the options fails here, before publishing.
    const { platform, add, created, entrypoint, cmd } = await decideFromRootfs(image, options, checked, {
      origin,
      ...(declaredArch ? { declaredArch } : {}),
    });

    const inner = createSquashfsLayer(image, {
      exclude: options.exclude ?? [],
      defaultExcludes: options.defaultExcludes ?? profile === 'uai',
      add,
      allowWhiteoutNames: options.allowWhiteoutNames ?? false,
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      ...(signal ? { signal } : {}),
    });
    // Progress counts the uncompressed tar; its total is estimated from one pass over the
    // inode table (file bytes, and ~1 KiB of headers per inode). An inode table that pass
    // cannot read only costs the estimate: the layer's walk reports what is wrong with it.
    let total: number | undefined;
    if (options.onProgress && image.inodeTotals) {
      try {
        const totals = image.inodeTotals();
        total = totals.fileBytes + totals.inodes * 1024;
      } catch (err) {
        if (!(err instanceof SquashfsError)) throw err;
      }
    }
    const progressed = options.onProgress ? countingLayer(inner, (bytes) => options.onProgress!({ phase: 'layer', bytes, ...(total ? { total } : {}) })) : inner;
    const variants = new Map<LayerCompression, Layer>();
    const layerVariant = (c: LayerCompression): Layer => {
      let layer = variants.get(c);
      if (!layer) {
        const level = c === compression ? options.compressionLevel : undefined;
        layer = compressLayer(progressed, { compression: c, ...(level !== undefined ? { level } : {}) });
        variants.set(c, layer);
      }
      return layer;
    };
    const assemble = (fmt: ImageFormat, layers: readonly Layer[]): Image =>
      assembleImage({
        format: fmt,
        layers,
        config: {
          architecture: platform.architecture,
          ...(platform.variant ? { variant: platform.variant } : {}),
          os: 'linux',
          created: created.rfc3339,
          ...(entrypoint ? { entrypoint } : {}),
          ...(cmd ? { cmd } : {}),
          env,
          ...(options.workdir ? { workingDir: options.workdir } : {}),
          ...(options.user ? { user: options.user } : {}),
          labels,
          // Nothing here names the source: the same rootfs gives the same digests whether
          // it was read as a relative path, an absolute path, s3://, bos: or ims:.
          createdBy: 'uai-assembler build',
        },
        annotations: { ...annotations, 'org.opencontainers.image.created': created.rfc3339 },
      });

    const destinations: Destination[] = [];
    try {
      for (const ref of refs) {
        destinations.push(
          openDestination(ref, {
            format,
            registry,
            mtime: created.seconds,
            ...(options.cwd ? { cwd: options.cwd } : {}),
            ...(options.clientFactory ? { clientFactory: options.clientFactory } : {}),
            ...(options.onWarning ? { onWarning: options.onWarning } : {}),
          }),
        );
      }
    } catch (err) {
      // e.g. an unreadable --cert-dir: release the clients already made.
      await Promise.all(destinations.map((d) => d.close().catch(() => undefined)));
      throw err;
    }
    const t2 = performance.now();
    const results = await publish({
      destinations,
      compression,
      layerVariant,
      assemble,
      ...(signal ? { signal } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const t3 = performance.now();
    options.onProgress?.({ phase: 'done' });
    const main = results.find((r) => r.transport === 'docker') ?? results.find((r) => r.transport !== 'docker-archive') ?? results[0]!;
    return {
      manifestDigest: main.manifestDigest,
      configDigest: main.configDigest,
      layer: main.layer,
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      created: created.rfc3339,
      references: results.map((r) => r.reference),
      destinations: results,
      timings: { resolveMs: Math.round(t1 - t0), checkMs: Math.round(t2 - t1), publishMs: Math.round(t3 - t2), totalMs: Math.round(t3 - t0) },
    };
  } catch (err) {
    if (signal?.aborted && !(err instanceof UaiError && err.code === 'UAI_ABORTED')) {
      throw signal.reason instanceof Error ? signal.reason : err;
    }
    throw err;
  } finally {
    // Closing the image closes its source: only when build() opened that source itself.
    if (ownSource) await (image ? image.close() : source.close()).catch(() => undefined);
  }
}
