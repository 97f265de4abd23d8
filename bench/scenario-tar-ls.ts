/**
 * Scenarios that read an image and write to /dev/null:
 * - tar: `uai-assemble tar IMAGE -o /dev/null` vs `sqfs2tar IMAGE > /dev/null`, every image;
 * - ls:  `uai-assemble ls IMAGE > /dev/null` (the metadata walk) vs `unsquashfs -lls`,
 *        on the rootfs-like images (the large-file images have a dozen entries).
 * The variants are exported for the scale scenario, which runs the same commands.
 */
import { alternate, sampleOf, unavailable, type Measurement, type Variant } from './measure.ts';
import { warmPageCache, withJson, type BenchContext } from './context.ts';
import type { BenchImage } from './images.ts';
import { uaiArgv } from './uai-cli.ts';

/** `uai-assemble tar IMAGE -o /dev/null` (id `tar/uai/IMAGE`), or why it cannot run. */
export function uaiTarVariant(ctx: BenchContext, image: BenchImage): Variant | Measurement {
  const missing = ctx.cli.missing('tar');
  const json = ctx.cli.hasOption('tar', '--json');
  const uai: Variant = {
    id: `tar/uai/${image.name}`,
    label: `uai-assemble tar IMAGE -o /dev/null`,
    async run() {
      const [cmd, args] = uaiArgv(['tar', image.path, '-o', '/dev/null', ...(json ? ['--json'] : [])]);
      return withJson(await sampleOf(cmd, args, { name: 'uai-assemble tar', stdout: json ? 'capture' : '/dev/null', signal: ctx.signal }));
    },
  };
  return missing ? unavailable(uai.id, uai.label, missing) : uai;
}

/** `sqfs2tar IMAGE > /dev/null` (id `tar/sqfs2tar/IMAGE`). */
export function sqfs2tarVariant(ctx: BenchContext, image: BenchImage): Variant {
  return {
    id: `tar/sqfs2tar/${image.name}`,
    label: 'sqfs2tar IMAGE > /dev/null',
    async run() {
      const { stdout: _, ...sample } = await sampleOf('sqfs2tar', [image.path], { stdout: '/dev/null', signal: ctx.signal });
      return sample;
    },
  };
}

/** `uai-assemble ls IMAGE > /dev/null` (id `ls/uai/IMAGE`), or why it cannot run. */
export function uaiLsVariant(ctx: BenchContext, image: BenchImage): Variant | Measurement {
  const missing = ctx.cli.missing('ls');
  const uai: Variant = {
    id: `ls/uai/${image.name}`,
    label: 'uai-assemble ls IMAGE > /dev/null',
    async run() {
      const [cmd, args] = uaiArgv(['ls', image.path]);
      const { stdout: _, ...sample } = await sampleOf(cmd, args, { name: 'uai-assemble ls', stdout: '/dev/null', signal: ctx.signal });
      return sample;
    },
  };
  return missing ? unavailable(uai.id, uai.label, missing) : uai;
}

export async function tarScenario(ctx: BenchContext): Promise<void> {
  for (const image of ctx.images) {
    ctx.log(`tar: ${image.name}`);
    warmPageCache(image.path);
    ctx.groups.push({
      scenario: 'tar',
      title: `tar: ${image.name}`,
      image,
      unit: { kind: 'bytes', perRun: image.tarBytes },
      measurements: await alternate([uaiTarVariant(ctx, image), sqfs2tarVariant(ctx, image)], ctx.options.reps, { signal: ctx.signal, log: ctx.log }),
    });
  }
}

export async function lsScenario(ctx: BenchContext): Promise<void> {
  for (const image of ctx.images.filter((i) => i.tree === 'rootfs')) {
    ctx.log(`ls: ${image.name}`);
    warmPageCache(image.path);
    const reference: Variant = {
      id: `ls/unsquashfs/${image.name}`,
      label: 'unsquashfs -lls IMAGE > /dev/null',
      async run() {
        const { stdout: _, ...sample } = await sampleOf('unsquashfs', ['-lls', image.path], { stdout: '/dev/null', signal: ctx.signal });
        return sample;
      },
    };
    ctx.groups.push({
      scenario: 'ls',
      title: `ls: ${image.name}`,
      image,
      unit: { kind: 'entries', perRun: image.listedEntries },
      measurements: await alternate([uaiLsVariant(ctx, image), reference], ctx.options.reps, {
        signal: ctx.signal,
        log: ctx.log,
      }),
    });
  }
}
