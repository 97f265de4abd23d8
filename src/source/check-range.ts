import type { ByteSource } from './byte-source.ts';
import { SourceError } from './errors.ts';

/** Validates a read request against a source's size; shared by every backend. */
export function checkRange(source: Pick<ByteSource, 'size' | 'name'>, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new SourceError('UAI_SOURCE_RANGE', `${source.name}: invalid read of ${length} bytes at offset ${offset}`, {
      details: { source: source.name, offset, length },
    });
  }
  if (offset + length > source.size) {
    throw new SourceError(
      'UAI_SOURCE_RANGE',
      `${source.name}: read of ${length} bytes at offset ${offset} passes the end (size ${source.size})`,
      { details: { source: source.name, offset, length, size: source.size } },
    );
  }
}
