/**
 * The S3 scenario: the same `uai-assemble build … --compression none` reading the image
 * from s3rver (`s3://…` with `--s3-endpoint`) vs from the local file, on the gzip image of
 * each tree. `none` keeps layer compression out of the way, so the source shows.
 * The pair of variants is exported for the scale scenario, which runs the same commands.
 */
import { alternate, unavailable, type Measurement, type Variant } from './measure.ts';
import { warmPageCache, type BenchContext } from './context.ts';
import type { BenchImage } from './images.ts';
import { withFreshRegistry } from './registry.ts';
import { startBenchS3, upload, type BenchS3 } from './s3.ts';
import { uaiBuildVariant } from './scenario-build.ts';

/** Why `uai-assemble build` cannot read from S3 here, if it cannot. */
export function s3Missing(ctx: BenchContext): string | undefined {
  return ctx.cli.missing('build') ?? (ctx.cli.hasOption('build', '--s3-endpoint') ? undefined : '`uai-assemble build --s3-endpoint` is not available yet');
}

/**
 * `build s3://… --compression none` (id `s3/s3/IMAGE`) and `build FILE --compression none`
 * (id `s3/local/IMAGE`), each pushing to a fresh registry; uploads the image first (untimed).
 */
export async function s3Variants(ctx: BenchContext, image: BenchImage, s3: BenchS3 | undefined): Promise<Array<Variant | Measurement>> {
  const missing = s3Missing(ctx);
  const localId = `s3/local/${image.name}`;
  const s3Id = `s3/s3/${image.name}`;
  if (!s3 || missing) {
    return [
      unavailable(s3Id, 'uai-assemble build s3://… --compression none', missing ?? 'no S3 endpoint'),
      unavailable(localId, 'uai-assemble build FILE --compression none', missing ?? 'no S3 endpoint'),
    ];
  }
  const url = await upload(s3, `${image.name}.sqfs`, image.path, ctx.log);
  const endpoint = s3.endpoint;
  return [
    withFreshRegistry((host) =>
      uaiBuildVariant(ctx, s3Id, url, 'none', host, {
        flags: ['--s3-endpoint', endpoint],
        env: s3.env,
        label: 'uai-assemble build s3://BUCKET/IMAGE --s3-endpoint http://127.0.0.1:PORT --compression none',
      }),
    ),
    withFreshRegistry((host) => uaiBuildVariant(ctx, localId, image.path, 'none', host, { label: 'uai-assemble build FILE --compression none' })),
  ];
}

export async function s3Scenario(ctx: BenchContext): Promise<void> {
  const images = ctx.images.filter((i) => i.compressor === 'gzip');
  const s3 = s3Missing(ctx) ? undefined : await startBenchS3();
  try {
    if (s3) ctx.notes.push(`S3 source: ${s3.kind}.`);
    for (const image of images) {
      ctx.log(`s3: ${image.name}`);
      warmPageCache(image.path);
      ctx.groups.push({
        scenario: 's3',
        title: `s3: ${image.name}`,
        image,
        unit: { kind: 'bytes', perRun: image.tarBytes },
        measurements: await alternate(await s3Variants(ctx, image, s3), ctx.options.reps, { signal: ctx.signal, log: ctx.log }),
      });
    }
  } finally {
    await s3?.stop();
  }
}
