/**
 * HardLinks keeps the first archive name of every hard-linked inode for the whole layer.
 * Those names arrive cut from slabs shared with many other paths; a kept name must be a
 * copy, or each one pins its whole slab (a leak that grew with the number of entries).
 */
import { describe, expect, it } from 'vitest';
import { HardLinks } from '../../src/layer/hard-links.ts';
import type { Entry } from '../../src/squashfs/entry.ts';

function entry(inodeRef: number, nlink: number, type: Entry['type'] = 'file'): Entry {
  return { inodeRef, nlink, type } as Entry;
}

describe('HardLinks', () => {
  it('keeps a copy of the first name, not a view of the caller\'s slab', () => {
    const links = new HardLinks();
    const slab = new Uint8Array(64 * 1024);
    const name = slab.subarray(100, 108);
    name.set(Buffer.from('./a/b/hl'));
    links.written(entry(7, 2), name);
    const kept = links.targetOf(entry(7, 2))!;
    expect(Buffer.from(kept).toString()).toBe('./a/b/hl');
    expect(kept.buffer).not.toBe(slab.buffer);
    slab.fill(0); // the caller reuses its slab: the kept name does not change
    expect(Buffer.from(links.targetOf(entry(7, 2))!).toString()).toBe('./a/b/hl');
  });

  it('records only the first name of an inode with several, and never directories or single names', () => {
    const links = new HardLinks();
    links.written(entry(1, 3), Buffer.from('./first'));
    links.written(entry(1, 3), Buffer.from('./second'));
    links.written(entry(2, 1), Buffer.from('./single'));
    links.written(entry(3, 2, 'dir'), Buffer.from('./dir/'));
    expect(Buffer.from(links.targetOf(entry(1, 3))!).toString()).toBe('./first');
    expect(links.targetOf(entry(2, 1))).toBeUndefined();
    expect(links.targetOf(entry(3, 2, 'dir'))).toBeUndefined();
    expect(links.size).toBe(1);
  });
});
