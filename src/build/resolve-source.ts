/**
 * SOURCE strings of the CLI and of `build()` → an open ByteSource plus where it came
 * from. For now a local path; `bos:`, `ims:`, `s3://` and `https://` come with the CSM
 * work (issue 5), behind this same function.
 */
import { FileSource } from '../source/file.ts';
import type { ByteSource } from '../source/byte-source.ts';

export interface ResolvedSource {
  source: ByteSource;
  /** A description of where the rootfs came from, for annotations and messages. */
  origin: string;
  /** The architecture the source's metadata declares (BOS boot set / IMS record), if any. */
  declaredArch?: string;
}

export interface ResolveSourceOptions {
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export async function resolveSource(spec: string, _options: ResolveSourceOptions = {}): Promise<ResolvedSource> {
  const source = await FileSource.open(spec);
  return { source, origin: spec };
}
