/**
 * Scenarios that read an image and write to /dev/null:
 * - tar: `uai-assemble tar IMAGE -o /dev/null` vs `sqfs2tar IMAGE > /dev/null`, every image;
 * - ls:  `uai-assemble ls IMAGE > /dev/null` (the metadata walk) vs `unsquashfs -lls`,
 *        on the rootfs-like images (the large-file images have a dozen entries).
 */
import { alternate, sampleOf, unavailable, type Variant } from './measure.ts';
import { warmPageCache, withJson, type BenchContext } from './context.ts';
import { uaiArgv } from './uai-cli.ts';

export async function tarScenario(ctx: BenchContext): Promise<void> {
  const missing = ctx.cli.missing('tar');
  const json = ctx.cli.hasOption('tar', '--json');
  for (const image of ctx.images) {
    ctx.log(`tar: ${image.name}`);
    warmPageCache(image.path);
    const uai: Variant = {
      id: `tar/uai/${image.name}`,
      label: `uai-assemble tar IMAGE -o /dev/null`,
      async run() {
        const [cmd, args] = uaiArgv(['tar', image.path, '-o', '/dev/null', ...(json ? ['--json'] : [])]);
        return withJson(await sampleOf(cmd, args, { name: 'uai-assemble tar', stdout: json ? 'capture' : '/dev/null', signal: ctx.signal }));
      },
    };
    const sqfs2tar: Variant = {
      id: `tar/sqfs2tar/${image.name}`,
      label: 'sqfs2tar IMAGE > /dev/null',
      async run() {
        const { stdout: _, ...sample } = await sampleOf('sqfs2tar', [image.path], { stdout: '/dev/null', signal: ctx.signal });
        return sample;
      },
    };
    const a = missing ? unavailable(uai.id, uai.label, missing) : uai;
    ctx.groups.push({
      scenario: 'tar',
      title: `tar: ${image.name}`,
      image,
      unit: { kind: 'bytes', perRun: image.tarBytes },
      measurements: await alternate([a, sqfs2tar], ctx.options.reps, { signal: ctx.signal, log: ctx.log }),
    });
  }
}

export async function lsScenario(ctx: BenchContext): Promise<void> {
  const missing = ctx.cli.missing('ls');
  for (const image of ctx.images.filter((i) => i.tree === 'rootfs')) {
    ctx.log(`ls: ${image.name}`);
    warmPageCache(image.path);
    const uai: Variant = {
      id: `ls/uai/${image.name}`,
      label: 'uai-assemble ls IMAGE > /dev/null',
      async run() {
        const [cmd, args] = uaiArgv(['ls', image.path]);
        const { stdout: _, ...sample } = await sampleOf(cmd, args, { name: 'uai-assemble ls', stdout: '/dev/null', signal: ctx.signal });
        return sample;
      },
    };
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
      measurements: await alternate([missing ? unavailable(uai.id, uai.label, missing) : uai, reference], ctx.options.reps, {
        signal: ctx.signal,
        log: ctx.log,
      }),
    });
  }
}
