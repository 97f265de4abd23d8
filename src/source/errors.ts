import { UaiError } from '../errors.ts';

export type SourceErrorCode =
  | 'UAI_SOURCE_RANGE'
  | 'UAI_SOURCE_SHORT_READ'
  | 'UAI_SOURCE_CLOSED'
  | 'UAI_SOURCE_IO'
  | 'UAI_SOURCE_NOT_FOUND'
  | 'UAI_SOURCE_DENIED'
  | 'UAI_SOURCE_HTTP';

/** A read that failed: names the source, and the offset and length asked for. */
export class SourceError extends UaiError {
  declare readonly code: SourceErrorCode;
  constructor(code: SourceErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
  }
}
