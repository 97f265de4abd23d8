import { UaiError } from '../errors.ts';

export type ImageErrorCode =
  | 'UAI_IMAGE_INVALID_OPTION'
  | 'UAI_IMAGE_ARCH'
  | 'UAI_IMAGE_ARCH_MISMATCH'
  | 'UAI_IMAGE_NO_SHELL'
  | 'UAI_IMAGE_NO_UAI_SSH'
  | 'UAI_IMAGE_CREATED'
  | 'UAI_IMAGE_LAYER_TYPE';

/** A problem building the image config or manifest (what the user asked for, or what the rootfs holds). */
export class ImageError extends UaiError {
  declare readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
  }
}
