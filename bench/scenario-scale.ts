/**
 * The scale scenario. Issue 6 asks for peak RSS ≤ 256 MiB on every image, "not growing
 * with image size"; the other bench images stop at 102k entries while a compute rootfs has
 * up to ~600k, and what uai-assemble keeps in memory grows with the entry count (the
 * decoded inode and directory tables, hard-link names). So, on one rootfs-like gzip image
 * of 600k entries (30k with --quick, 2k with --smoke; images.ts), each command a user runs:
 *
 * - `uai-assemble ls IMAGE > /dev/null`;
 * - `uai-assemble tar IMAGE -o /dev/null`, and `sqfs2tar IMAGE > /dev/null` beside it for
 *   a tar ratio at that size;
 * - `uai-assemble build IMAGE docker://127.0.0.1:PORT/… --compression none`, from the file
 *   and from s3rver (`s3://…` with `--s3-endpoint`), each to a fresh local registry.
 *
 * The ids are those of the tar, ls and s3 scenarios (`tar/uai/rootfs600k-gzip`, …), so the
 * per-image targets (peak RSS, tar and S3 ratios, ls rate) get a row for this image too.
 * Memory is the point, not a ratio, and each run is slow: one run each unless --reps or
 * --slow-reps asks for more (`scaleReps`).
 */
import { alternate } from './measure.ts';
import { warmPageCache, type BenchContext } from './context.ts';
import type { BenchImage } from './images.ts';
import { startBenchS3 } from './s3.ts';
import { s3Missing, s3Variants } from './scenario-s3.ts';
import { sqfs2tarVariant, uaiLsVariant, uaiTarVariant } from './scenario-tar-ls.ts';

export async function scaleScenario(ctx: BenchContext, image: BenchImage): Promise<void> {
  const reps = ctx.options.scaleReps;
  const entries = image.listedEntries.toLocaleString('en-US');
  const run = { signal: ctx.signal, log: ctx.log };
  ctx.log(`scale: ${image.name} (${entries} entries), ${reps} run(s) each`);
  warmPageCache(image.path);
  ctx.groups.push({
    scenario: 'scale',
    title: `scale: ls ${image.name} (${entries} entries)`,
    image,
    unit: { kind: 'entries', perRun: image.listedEntries },
    measurements: await alternate([uaiLsVariant(ctx, image)], reps, run),
  });
  const s3 = s3Missing(ctx) ? undefined : await startBenchS3();
  try {
    if (s3 && !ctx.notes.includes(`S3 source: ${s3.kind}.`)) ctx.notes.push(`S3 source: ${s3.kind}.`);
    const variants = [uaiTarVariant(ctx, image), sqfs2tarVariant(ctx, image), ...(await s3Variants(ctx, image, s3))];
    warmPageCache(image.path);
    ctx.groups.push({
      scenario: 'scale',
      title: `scale: tar and build ${image.name} (${entries} entries)`,
      image,
      unit: { kind: 'bytes', perRun: image.tarBytes },
      measurements: await alternate(variants, reps, run),
    });
  } finally {
    await s3?.stop();
  }
}
