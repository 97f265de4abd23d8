/**
 * The S3 scenario: the same `uai-assemble build … --compression none` reading the image
 * from s3rver (`s3://…` with `--s3-endpoint`) vs from the local file, on the gzip image of
 * each tree. `none` keeps layer compression out of the way, so the source shows.
 */
import { alternate, unavailable, type Measurement, type Variant } from './measure.ts';
import { warmPageCache, type BenchContext } from './context.ts';
import { withFreshRegistry } from './registry.ts';
import { startBenchS3, upload } from './s3.ts';
import { uaiBuildVariant } from './scenario-build.ts';

export async function s3Scenario(ctx: BenchContext): Promise<void> {
  const { workDir } = ctx.options;
  const missing =
    ctx.cli.missing('build') ??
    (ctx.cli.hasOption('build', '--s3-endpoint') ? undefined : '`uai-assemble build --s3-endpoint` is not available yet');
  const images = ctx.images.filter((i) => i.compressor === 'gzip');
  const s3 = missing ? undefined : await startBenchS3();
  try {
    if (s3) ctx.notes.push(`S3 source: ${s3.kind}.`);
    for (const image of images) {
      ctx.log(`s3: ${image.name}`);
      warmPageCache(image.path);
      const localId = `s3/local/${image.name}`;
      const s3Id = `s3/s3/${image.name}`;
      const variants: Array<Variant | Measurement> = [];
      if (!s3 || missing) {
        variants.push(unavailable(s3Id, 'uai-assemble build s3://… --compression none', missing ?? 'no S3 endpoint'));
        variants.push(unavailable(localId, 'uai-assemble build FILE --compression none', missing ?? 'no S3 endpoint'));
      } else {
        const url = await upload(s3, `${image.name}.sqfs`, image.path, ctx.log);
        const endpoint = s3.endpoint;
        variants.push(
          withFreshRegistry((host) =>
            uaiBuildVariant(ctx, s3Id, url, 'none', host, {
              flags: ['--s3-endpoint', endpoint],
              env: s3.env,
              label: 'uai-assemble build s3://BUCKET/IMAGE --s3-endpoint http://127.0.0.1:PORT --compression none',
            }),
          ),
          withFreshRegistry((host) =>
            uaiBuildVariant(ctx, localId, image.path, 'none', host, { label: 'uai-assemble build FILE --compression none' }),
          ),
        );
      }
      ctx.groups.push({
        scenario: 's3',
        title: `s3: ${image.name}`,
        image,
        unit: { kind: 'bytes', perRun: image.tarBytes },
        measurements: await alternate(variants, ctx.options.reps, { signal: ctx.signal, log: ctx.log }),
      });
    }
  } finally {
    await s3?.stop();
  }
}
