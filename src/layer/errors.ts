import { UaiError } from '../errors.ts';

export type LayerErrorCode =
  /** `digest()`, `diffId()` or `size()` before one `open()` stream was read to its end. */
  | 'UAI_LAYER_NOT_COMPUTED'
  /** An entry named `.wh.*` would be read as an OCI whiteout by every engine. */
  | 'UAI_LAYER_WHITEOUT_NAME'
  /** An option is malformed (a glob, an injection destination, a mode, a compression or its level). */
  | 'UAI_LAYER_BAD_OPTION'
  /** An injection's destination cannot be placed (its parent crosses a symlink or a file). */
  | 'UAI_LAYER_INJECT_PATH'
  /** An injected local file could not be read. */
  | 'UAI_LAYER_INJECT_READ'
  /** A file's data did not have the size its inode declares. */
  | 'UAI_LAYER_SIZE_MISMATCH'
  /** A value no tar header can carry (e.g. a name with a NUL byte). */
  | 'UAI_LAYER_UNREPRESENTABLE'
  /** This Node has no zstd (node:zlib zstd needs Node >= 22.15). */
  | 'UAI_LAYER_COMPRESSION_UNSUPPORTED'
  /** Two `open()` streams of the same layer (or of its compressed form) produced different bytes. */
  | 'UAI_LAYER_NOT_DETERMINISTIC';

/** Every error of the layer stage; `details.path` names the entry when there is one. */
export class LayerError extends UaiError {
  declare readonly code: LayerErrorCode;

  constructor(code: LayerErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
  }
}
