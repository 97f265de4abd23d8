import { UaiError } from '../errors.ts';

export type DestinationErrorCode =
  | 'UAI_DEST_INVALID'
  | 'UAI_DEST_DIGEST_REFERENCE'
  | 'UAI_DEST_CREDENTIALS_IN_REFERENCE'
  | 'UAI_DEST_IO'
  | 'UAI_DEST_NOT_LAYOUT'
  | 'UAI_DEST_LAYER_MISMATCH'
  | 'UAI_DEST_STATE';

/** A destination string that cannot be used, or a local write (layout, archive) that failed. */
export class DestinationError extends UaiError {
  declare readonly code: DestinationErrorCode;

  constructor(code: DestinationErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
  }
}
