import { UaiError } from '../errors.ts';

export type SquashfsErrorCode =
  | 'UAI_SQFS_BAD_MAGIC'
  | 'UAI_SQFS_VERSION'
  | 'UAI_SQFS_UNSUPPORTED'
  | 'UAI_SQFS_CORRUPTED'
  | 'UAI_SQFS_OUT_OF_BOUNDS'
  | 'UAI_SQFS_OVERFLOW'
  | 'UAI_SQFS_DECOMPRESS'
  | 'UAI_SQFS_BAD_NAME'
  | 'UAI_SQFS_LOOP'
  | 'UAI_SQFS_LIMIT'
  | 'UAI_SQFS_NOT_FOUND'
  | 'UAI_SQFS_NOT_DIR'
  | 'UAI_SQFS_LINK_LOOP';

/**
 * Every problem found in an image. `table` names the structure being read
 * (superblock, inode table, directory table, fragment table, id table, xattr table,
 * data block, …), `offset` the absolute image offset, and the message says why.
 */
export class SquashfsError extends UaiError {
  declare readonly code: SquashfsErrorCode;
  readonly table: string;
  readonly offset: number | undefined;

  constructor(
    code: SquashfsErrorCode,
    table: string,
    offset: number | undefined,
    reason: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, `${table}${offset === undefined ? '' : ` at offset ${offset}`}: ${reason}`, {
      cause: options?.cause,
      details: { table, offset, ...(options?.details ?? {}) },
    });
    this.table = table;
    this.offset = offset;
  }
}
