/**
 * @napi-rs/lzma, loaded when the first xz or lzma decompressor is made: images of the
 * other codecs never pay for its native module (~7 MB of RSS).
 */
import { createRequire } from 'node:module';
import type * as NapiLzma from '@napi-rs/lzma';

let loaded: typeof NapiLzma | undefined;

export function napiLzma(): typeof NapiLzma {
  loaded ??= createRequire(import.meta.url)('@napi-rs/lzma') as typeof NapiLzma;
  return loaded;
}
