import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, MemorySource, SourceError } from '../src/source/index.ts';

describe('FileSource', () => {
  let dir: string;
  let path: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'uai-src-'));
    path = join(dir, 'data.bin');
    await writeFile(path, Buffer.from('0123456789abcdef'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('reads ranges at positions, relative to an offset inside the file', async () => {
    const src = await FileSource.open(path, { offset: 4 });
    expect(src.size).toBe(12);
    expect(Buffer.from(await src.read(2, 3)).toString()).toBe('678');
    await src.close();
  });

  it('refuses reads past the end with UAI_SOURCE_RANGE naming the offset', async () => {
    const src = await FileSource.open(path);
    await expect(src.read(10, 10)).rejects.toMatchObject({ code: 'UAI_SOURCE_RANGE', details: { offset: 10, length: 10 } });
    await src.close();
    await expect(src.read(0, 1)).rejects.toMatchObject({ code: 'UAI_SOURCE_CLOSED' });
  });

  it('names a missing file', async () => {
    const err = await FileSource.open(join(dir, 'nope')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect(err).toMatchObject({ code: 'UAI_SOURCE_NOT_FOUND' });
  });

  it('honours an aborted signal', async () => {
    const src = new MemorySource(new Uint8Array(8));
    await expect(src.read(0, 1, { signal: AbortSignal.abort() })).rejects.toBeTruthy();
  });
});
