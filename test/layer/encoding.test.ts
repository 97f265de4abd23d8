import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { layerTar } from '../../src/layer/index.ts';
import { encodeTarHeader, splitIndex, NEED_PATH, NEED_UID, NEED_SIZE, NEED_GID, NEED_LINKPATH, TYPE_FILE } from '../../src/layer/tar-header.ts';
import { encodePaxRecords, paxRecordLength } from '../../src/layer/pax.ts';
import { TarWriter } from '../../src/layer/tar-writer.ts';
import { FakeImage, type FakeSpec } from './support/fake-image.ts';
import { collect, parsePax, parseTar } from './support/parse-tar.ts';

const tmp = mkdtempSync(join(tmpdir(), 'layer-enc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const enc = new TextEncoder();

describe('tar header encoder', () => {
  it('fits names up to 100 bytes in the name field and splits longer ones at a slash', () => {
    expect(splitIndex(enc.encode('a'.repeat(100)))).toBe(-1);
    expect(splitIndex(enc.encode('a'.repeat(101)))).toBe(-2);
    const name = `./${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}`;
    const cut = splitIndex(enc.encode(name));
    expect(name.slice(cut + 1)).toBe(`${'e'.repeat(60)}/${'f'.repeat(60)}`.slice(-(name.length - cut - 1)));
    expect(name.length - cut - 1).toBeLessThanOrEqual(100);
    expect(cut).toBeLessThanOrEqual(155);
    // A trailing slash never leaves an empty name part.
    const dir = `./${'d'.repeat(150)}/`;
    expect(splitIndex(enc.encode(dir))).toBe(-2);
  });

  it('reports exactly the fields ustar cannot hold', () => {
    const out = new Uint8Array(512);
    const base = { name: enc.encode('./f'), typeflag: TYPE_FILE, mode: 0o644, uid: 2097151, gid: 2097151, size: 8 * 2 ** 30 - 1, mtime: 0xffffffff };
    expect(encodeTarHeader(base, out)).toBe(0);
    expect(encodeTarHeader({ ...base, uid: 2097152 }, out)).toBe(NEED_UID);
    expect(encodeTarHeader({ ...base, gid: 2 ** 32 - 1 }, out)).toBe(NEED_GID);
    expect(encodeTarHeader({ ...base, size: 8 * 2 ** 30 }, out)).toBe(NEED_SIZE);
    expect(encodeTarHeader({ ...base, name: enc.encode('x'.repeat(300)) }, out)).toBe(NEED_PATH);
    expect(encodeTarHeader({ ...base, linkname: enc.encode('l'.repeat(101)) }, out)).toBe(NEED_LINKPATH);
    expect(encodeTarHeader({ ...base, linkname: enc.encode('l'.repeat(100)) }, out)).toBe(0);
  });

  it('writes the checksum GNU tar expects', () => {
    const out = new Uint8Array(512);
    encodeTarHeader({ name: enc.encode('./hello'), typeflag: TYPE_FILE, mode: 0o640, uid: 5, gid: 6, size: 0, mtime: 1_700_000_000 }, out);
    const file = join(tmp, 'one.tar');
    writeFileSync(file, Buffer.concat([out, Buffer.alloc(1024)]));
    expect(execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' })).toMatch(/^-rw-r----- 5\/6 +0 2023-11-14 \d\d:\d\d \.\/hello\n$/);
  });
});

describe('tar writer', () => {
  it('puts a PAX size record before a header of a file of 8 GiB or more', () => {
    const w = new TarWriter();
    const size = 8 * 2 ** 30 + 3;
    w.addEntry({ name: enc.encode('./huge'), typeflag: TYPE_FILE, mode: 0o644, uid: 0, gid: 0, size, mtime: 1 });
    w.finish();
    const bytes = Buffer.concat(w.take());
    expect(bytes[156]).toBe(0x78); // 'x' first
    const bodyLength = parseInt(bytes.subarray(124, 135).toString('latin1'), 8);
    expect(parsePax(bytes.subarray(512, 512 + bodyLength)).map(([k, v]) => [k, Buffer.from(v).toString('latin1')])).toEqual([['size', String(size)]]);
    const header = bytes.subarray(1024, 1536);
    expect(header.subarray(0, 6).toString('latin1')).toBe('./huge');
    expect(header.subarray(124, 136).toString('latin1')).toBe('00000000000\0');
  });

  it('hands out large data pieces without copying and keeps everything in order', () => {
    const w = new TarWriter({ chunkSize: 4096, passThroughBytes: 1000 });
    const big = new Uint8Array(5000).fill(9);
    w.addEntry({ name: enc.encode('./a'), typeflag: TYPE_FILE, mode: 0o644, uid: 0, gid: 0, size: 5003, mtime: 1 });
    w.addData(Uint8Array.from([1, 2, 3]));
    w.addData(big);
    w.endData(5003);
    w.finish();
    const chunks = w.take();
    expect(chunks).toContain(big);
    const all = Buffer.concat(chunks);
    expect(all.length).toBe(512 + 5120 + 1024);
    expect([...all.subarray(512, 515)]).toEqual([1, 2, 3]);
    expect(all.subarray(515, 5515).every((b) => b === 9)).toBe(true);
    expect(all.subarray(5515).every((b) => b === 0)).toBe(true);
    expect(w.bytes).toBe(all.length);
  });
});

describe('PAX records', () => {
  it('counts the length prefix itself, across a digit boundary', () => {
    // key 'k' (1) + value: base = 1 + v + 3; pick v so base + 2 digits = 100 → 3 digits needed.
    for (let v = 90; v < 100; v++) {
      const len = paxRecordLength(1, v);
      expect(len).toBe(String(len).length + 1 + 1 + 1 + v + 1);
    }
    const body = encodePaxRecords([['k', new Uint8Array(94)]]);
    expect(body.length).toBe(paxRecordLength(1, 94));
    expect(Buffer.from(body.subarray(0, 4)).toString()).toBe(`${body.length} `);
  });

  it('keeps binary values byte for byte', () => {
    const value = Uint8Array.from([0, 1, 2, 0x0a, 0x3d, 0xff, 0]);
    const body = encodePaxRecords([['SCHILY.xattr.user.bin', value], ['path', Uint8Array.from([0x2e, 0x2f, 0xff, 0xfe])]]);
    const records = parsePax(body);
    expect(records.map(([k]) => k)).toEqual(['SCHILY.xattr.user.bin', 'path']);
    expect(Buffer.from(records[0]![1]).equals(Buffer.from(value))).toBe(true);
    expect(Buffer.from(records[1]![1]).equals(Buffer.from([0x2e, 0x2f, 0xff, 0xfe]))).toBe(true);
  });
});

describe('what ustar cannot hold goes to PAX', () => {
  const nonUtf8 = Uint8Array.from([0x2f, 0x64, 0x2f, 0x6e, 0xe9, 0xff, 0x2e, 0x74, 0x78, 0x74]); // /d/n\xe9\xff.txt
  const long150 = 'L'.repeat(150);
  const longDeep = `${'p'.repeat(100)}/${'q'.repeat(100)}/${'r'.repeat(100)}`;
  const bigValue = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
  const specs: FakeSpec[] = [
    { path: '/', mtime: 99 },
    { path: '/d' },
    { path: nonUtf8, data: 'bytes' },
    { path: Uint8Array.from([...enc.encode('/d/'), ...enc.encode('x'.repeat(120)), 0xe9]), data: 'long-non-utf8' },
    { path: `/d/${long150}`, data: 'long', xattrs: { 'user.z': 'last', 'user.a': Uint8Array.from([0, 0, 1]), 'trusted.big': bigValue } },
    { path: `/d/${'s'.repeat(60)}`, type: 'dir', uid: 3_000_000, gid: 4_000_000 },
    { path: `/d/${'s'.repeat(60)}/${'t'.repeat(90)}`, data: 'split', uid: 2097152 },
    { path: `/d/${longDeep}`, type: 'symlink', target: `../${'T'.repeat(200)}` },
  ];

  it('encodes long names, big ids, binary xattrs and non-UTF-8 bytes faithfully', async () => {
    const bytes = await collect(layerTar(new FakeImage(specs)));
    const entries = parseTar(bytes);
    const m = new Map(entries.map((e) => [e.path, e]));
    expect(m.get('d/n\xe9\xff.txt')).toMatchObject({ type: '0', size: 5 });
    expect(m.get('d/n\xe9\xff.txt')!.pax).toEqual({});
    // 121 bytes of name after the last slash: only a PAX path holds it, as raw bytes.
    const nonUtf8Long = m.get(`d/${'x'.repeat(120)}\xe9`)!;
    expect(nonUtf8Long.pax).toEqual({ path: `./d/${'x'.repeat(120)}\xe9` });
    const l = m.get(`d/${long150}`)!;
    expect(l.pax.path).toBe(`./d/${long150}`);
    expect(Object.keys(l.pax)).toEqual(['path', 'SCHILY.xattr.trusted.big', 'SCHILY.xattr.user.a', 'SCHILY.xattr.user.z']);
    expect(l.xattrs['trusted.big']).toBe(Buffer.from(bigValue).toString('hex'));
    expect(l.xattrs['user.a']).toBe('000001');
    expect(m.get(`d/${'s'.repeat(60)}`)).toMatchObject({ type: '5', uid: 3_000_000, gid: 4_000_000 });
    const split = m.get(`d/${'s'.repeat(60)}/${'t'.repeat(90)}`)!;
    expect(split.pax).toEqual({ uid: '2097152' }); // the name fits by the ustar prefix split
    expect(split.rawName.length).toBeGreaterThan(100);
    expect(split.uid).toBe(2097152);
    const sym = m.get(`d/${longDeep}`)!;
    expect(sym).toMatchObject({ type: '2', linkname: `../${'T'.repeat(200)}` });
    expect(Object.keys(sym.pax)).toEqual(['path', 'linkpath']);
    // Fixed PAX header names: no PID, no counter.
    const names = entries.length && [...bytes.toString('latin1').matchAll(/PaxHeaders\/[^\0]*/g)].map((x) => x[0].slice(0, 100));
    expect(names).toContain(`PaxHeaders/${long150}`.slice(0, 100));
    expect(names).toContain(`PaxHeaders/${'x'.repeat(120)}\xe9`.slice(0, 100));
  });

  it('GNU tar extracts it as root with the same names, owners and xattrs', async () => {
    const bytes = await collect(layerTar(new FakeImage(specs)));
    const file = join(tmp, 'pax.tar');
    writeFileSync(file, bytes);
    const out = join(tmp, 'x');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['--xattrs', "--xattrs-include=*", '--numeric-owner', '-xpf', file, '-C', out]);
    const names = readdirSync(join(out, 'd'), { encoding: 'buffer' }).map((b) => b.toString('latin1')).sort();
    expect(names).toEqual(['L'.repeat(150), 'n\xe9\xff.txt', 'p'.repeat(100), 's'.repeat(60), `${'x'.repeat(120)}\xe9`].sort());
    expect(readFileSync(join(out, 'd', 's'.repeat(60), 't'.repeat(90)), 'utf8')).toBe('split');
    const dump = execFileSync('getfattr', ['-d', '-m-', '-e', 'hex', join(out, 'd', long150)], { encoding: 'utf8' });
    expect(dump).toContain(`user.a=0x000001`);
    expect(dump).toContain(`trusted.big=0x${Buffer.from(bigValue).toString('hex')}`);
    const stat = execFileSync('stat', ['-c', '%u:%g', join(out, 'd', 's'.repeat(60))], { encoding: 'utf8' }).trim();
    expect(stat).toBe('3000000:4000000');
  });
});
