import { describe, expect, it } from 'vitest';
import { describeDestination, parseDestination } from '../../src/destination/index.ts';

describe('parseDestination', () => {
  it('docker://HOST[:PORT]/REPO[:TAG], tag latest by default', () => {
    expect(parseDestination('docker://registry.local/cray/uai:v1')).toMatchObject({ transport: 'docker', host: 'registry.local', repository: 'cray/uai', tag: 'v1' });
    expect(parseDestination('docker://127.0.0.1:5000/a/b/c')).toMatchObject({ host: '127.0.0.1:5000', repository: 'a/b/c', tag: 'latest' });
    expect(parseDestination('docker://localhost/x:1.0_rc-2')).toMatchObject({ host: 'localhost', repository: 'x', tag: '1.0_rc-2' });
  });

  it('refuses a digest reference for a push, and names without a host', () => {
    expect(() => parseDestination(`docker://registry.local/x@sha256:${'0'.repeat(64)}`)).toThrow(expect.objectContaining({ code: 'UAI_DEST_DIGEST_REFERENCE' }));
    expect(() => parseDestination('docker://cray/uai:v1')).toThrow(expect.objectContaining({ code: 'UAI_DEST_INVALID' }));
    expect(() => parseDestination('docker://registry.local/Upper:v1')).toThrow(/repository "Upper"/);
    expect(() => parseDestination('docker://registry.local/x:bad tag')).toThrow(/tag/);
  });

  it('oci:, oci-archive: and docker-archive:', () => {
    expect(parseDestination('oci:/tmp/layout:v2')).toMatchObject({ transport: 'oci', path: '/tmp/layout', tag: 'v2' });
    expect(parseDestination('oci:relative/dir')).toMatchObject({ transport: 'oci', path: 'relative/dir', tag: 'latest' });
    expect(parseDestination('oci-archive:/tmp/a.tar')).toMatchObject({ transport: 'oci-archive', path: '/tmp/a.tar', tag: 'latest' });
    expect(parseDestination('docker-archive:/tmp/d.tar:cray/uai:v3')).toMatchObject({ transport: 'docker-archive', path: '/tmp/d.tar', repoTag: 'cray/uai:v3' });
    expect(parseDestination('docker-archive:/tmp/d.tar:registry.local:5000/uai')).toMatchObject({ repoTag: 'registry.local:5000/uai:latest' });
    expect(parseDestination('docker-archive:/tmp/d.tar')).toEqual({ transport: 'docker-archive', raw: 'docker-archive:/tmp/d.tar', path: '/tmp/d.tar' });
  });

  it('says which transports exist', () => {
    expect(() => parseDestination('containers-storage:x')).toThrow(/unknown transport "containers-storage"/);
    expect(() => parseDestination('/just/a/path')).toThrow(expect.objectContaining({ code: 'UAI_DEST_INVALID' }));
    expect(() => parseDestination('oci:')).toThrow(/path is empty/);
  });

  it('describes destinations for messages', () => {
    expect(describeDestination(parseDestination('docker://h.example/r'))).toBe('h.example/r:latest');
    expect(describeDestination(parseDestination('oci:d:t'))).toBe('oci:d:t');
  });
});
