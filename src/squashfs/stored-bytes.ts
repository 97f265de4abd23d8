import type { Entry } from './entry.ts';

/**
 * How many bytes of a regular file must be decompressed to read it: its size minus its
 * sparse blocks (size word 0), which cost nothing but a fill with zeros. The output cap
 * (limits.maxOutputBytes) counts these, so a 2 GiB sparse lastlog is no "bomb" while
 * many inodes sharing the same real blocks still are.
 */
export function storedBytes(entry: Entry, blockSize: number): number {
  const layout = entry.layout;
  if (entry.type !== 'file' || !layout) return 0;
  let bytes = entry.size;
  const sizes = layout.blockSizes;
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] !== 0) continue;
    // A sparse block covers a whole block, or what is left of the file for the last one.
    bytes -= Math.min(blockSize, entry.size - i * blockSize);
  }
  return Math.max(0, bytes);
}
