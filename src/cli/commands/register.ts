/**
 * `uai-assemble register REF [--default] [gateway options] [--json] [--dry-run]`:
 * registers a pushed image reference with UAS as an End-User UAI image. Already
 * registered is success (and, with --default, it is made the default).
 */
import { parseArgs } from 'node:util';
import { createCrayContext } from '../../cray/context.ts';
import { registerUaiImage, UAS_IMAGES_PATH } from '../../cray/uas.ts';
import { CRAY_OPTIONS, CRAY_OPTIONS_USAGE, crayContextOptionsFrom } from '../cray-options.ts';
import { EXIT_OK, UsageError, writeOut, type Command } from '../io.ts';

export const registerCommand: Command = {
  name: 'register',
  summary: 'register an image reference with UAS as an End-User UAI image',
  usage: [
    'uai-assemble register REF [--default] [--json] [--dry-run] [gateway options]',
    '  --default                  make it the default UAI image (also when already registered)',
    '  --json                     print {"imageRef","status","imageId","default"} on stdout',
    '  --dry-run                  print the request, send nothing',
    CRAY_OPTIONS_USAGE,
  ].join('\n'),
  async run(args, io) {
    let parsed;
    try {
      parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { ...CRAY_OPTIONS, json: { type: 'boolean' } } });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing REF' : `one REF only, got ${positionals.length}`);
    const ref = positionals[0]!;
    const makeDefault = values.default === true;
    const ctx = await createCrayContext(crayContextOptionsFrom(values, io));
    try {
      if (values['dry-run']) {
        const url = ctx.http.url(UAS_IMAGES_PATH, { imagename: ref, default: String(makeDefault) });
        const plan = { imageRef: ref, default: makeDefault, request: `POST ${url.href}`, tenant: ctx.tenant ?? null, token: ctx.tokenSource ?? null };
        await writeOut(io.stdout, values.json ? `${JSON.stringify(plan)}\n` : `would ${plan.request}${ctx.tenant ? ` (tenant ${ctx.tenant})` : ''}\n`);
        return EXIT_OK;
      }
      const result = await registerUaiImage(ctx, ref, { default: makeDefault, signal: io.signal });
      if (values.json) {
        await writeOut(io.stdout, `${JSON.stringify({ imageRef: ref, status: result.status, imageId: result.imageId ?? null, default: makeDefault || undefined })}\n`);
      } else {
        const id = result.imageId ? ` (image_id ${result.imageId})` : '';
        const text =
          result.status === 'created'
            ? `registered ${ref} with UAS${id}${makeDefault ? ' as the default image' : ''}`
            : result.status === 'updated'
              ? `${ref} was already registered${id}; it is now the default image`
              : `${ref} is already registered with UAS${id}`;
        await writeOut(io.stdout, `${text}\n`);
      }
      return EXIT_OK;
    } finally {
      await ctx.close();
    }
  },
};
