export type { Entry, EntryType, FileLayout } from './entry.ts';
export { SquashfsError, type SquashfsErrorCode } from './errors.ts';
