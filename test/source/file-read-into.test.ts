/**
 * `readInto`, the optional ByteSource read into the caller's buffer (the SquashFS reader
 * recycles its read buffers with it): same bytes, ranges and errors as `read`.
 */
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, MemorySource } from '../../src/source/index.ts';

let dir: string;
let path: string;
const data = new Uint8Array(300_000);
for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uai-read-into-'));
  path = join(dir, 'data.bin');
  await writeFile(path, data);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('FileSource.readInto', () => {
  it('fills exactly the target with the bytes at the offset, like read', async () => {
    const src = await FileSource.open(path, { offset: 1000 });
    const target = new Uint8Array(200_000).fill(0xee);
    await src.readInto(5, target.subarray(10, 150_010));
    expect(Buffer.from(target.subarray(10, 150_010)).equals(Buffer.from(data.subarray(1005, 151_005)))).toBe(true);
    // Bytes outside the view are untouched.
    expect(target[9]).toBe(0xee);
    expect(target[150_010]).toBe(0xee);
    expect(Buffer.from(await src.read(5, 150_000)).equals(Buffer.from(target.subarray(10, 150_010)))).toBe(true);
    await src.close();
  });

  it('reuses one buffer for many reads without mixing them up', async () => {
    const src = await FileSource.open(path);
    const target = new Uint8Array(4096);
    for (const offset of [0, 4096, 123_457, 295_000]) {
      await src.readInto(offset, target);
      expect(Buffer.from(target).equals(Buffer.from(data.subarray(offset, offset + 4096)))).toBe(true);
    }
    await src.close();
  });

  it('refuses a range past the end, a read after close and an aborted signal', async () => {
    const src = await FileSource.open(path);
    await expect(src.readInto(299_999, new Uint8Array(2))).rejects.toMatchObject({ code: 'UAI_SOURCE_RANGE', details: { offset: 299_999, length: 2 } });
    await expect(src.readInto(0, new Uint8Array(1), { signal: AbortSignal.abort() })).rejects.toBeTruthy();
    await src.close();
    await expect(src.readInto(0, new Uint8Array(1))).rejects.toMatchObject({ code: 'UAI_SOURCE_CLOSED' });
  });

  it('reports a file that shrank under it as a short read', async () => {
    const copy = join(dir, 'shrinks.bin');
    await writeFile(copy, data);
    const src = await FileSource.open(copy);
    await truncate(copy, 1000);
    await expect(src.readInto(500, new Uint8Array(1000))).rejects.toMatchObject({ code: 'UAI_SOURCE_SHORT_READ', details: { offset: 500, got: 500 } });
    await src.close();
  });
});

describe('MemorySource.readInto', () => {
  it('copies (the caller may reuse its buffer; the source bytes stay intact)', async () => {
    const bytes = data.slice(0, 1000);
    const src = new MemorySource(bytes);
    const target = new Uint8Array(100);
    await src.readInto(900, target);
    expect(Buffer.from(target).equals(Buffer.from(data.subarray(900, 1000)))).toBe(true);
    target.fill(0);
    expect(bytes[950]).toBe(data[950]);
    await expect(src.readInto(950, new Uint8Array(51))).rejects.toMatchObject({ code: 'UAI_SOURCE_RANGE' });
  });
});
