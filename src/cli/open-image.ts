import { resolveSource } from '../build/resolve-source.ts';
import type { ByteSource } from '../source/byte-source.ts';
import { SquashfsImage } from '../squashfs/index.ts';
import type { WarningHandler } from '../errors.ts';
import { sourceOptionsFrom } from './cray-options.ts';
import { printWarning, type CliIo } from './io.ts';

/**
 * The IMAGE argument of tar, ls and inspect → an open SquashfsImage: resolves the SOURCE
 * (path, s3://, https://, bos:, ims:) with the command's CSM options and closes the
 * source again if the image cannot be opened. `image.close()` closes the source too.
 */
export async function openImageArg(
  spec: string,
  values: Record<string, unknown>,
  io: CliIo,
  onWarning: WarningHandler = (w) => printWarning(io, w),
): Promise<{ image: SquashfsImage; source: ByteSource; origin: string }> {
  const { source, origin } = await resolveSource(spec, { ...sourceOptionsFrom(values, io), onWarning });
  try {
    const image = await SquashfsImage.open(source, { signal: io.signal, onWarning });
    return { image, source, origin };
  } catch (err) {
    await source.close();
    throw err;
  }
}
