import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  assembleImage,
  canonicalJson,
  createdTime,
  imageConfigBytes,
  manifestBytes,
  manifestDocument,
  parseCmd,
  parseEntrypoint,
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  OCI_CONFIG,
  OCI_LAYER_GZIP,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
} from '../../src/image/index.ts';
import type { Layer } from '../../src/layer/layer.ts';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;

function fakeLayer(mediaType: string, digest: string, diffId: string, size: number): Layer {
  return { mediaType, digest: () => digest, diffId: () => diffId, size: () => size, open: async function* () {} };
}

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined', () => {
    const text = new TextDecoder().decode(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined }, 'A': 'x' }));
    expect(text).toBe('{"A":"x","a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });

  it('gives identical bytes whatever order fields were set in', () => {
    expect(canonicalJson({ x: 1, y: 2 })).toEqual(canonicalJson({ y: 2, x: 1 }));
  });
});

describe('image config', () => {
  const base = { architecture: 'arm64', variant: 'v8', created: '2024-01-02T03:04:05Z', diffIds: [D1] };

  it('holds architecture, os, created, rootfs and one history entry per layer', () => {
    const cfg = JSON.parse(new TextDecoder().decode(imageConfigBytes({
      ...base,
      entrypoint: ['/usr/bin/uai-ssh.sh'],
      cmd: ['-v'],
      env: ['A=1', 'PATH=/usr/bin'],
      workingDir: '/root',
      user: 'root',
      labels: { 'org.example': 'yes' },
    })));
    expect(cfg).toMatchObject({
      architecture: 'arm64',
      variant: 'v8',
      os: 'linux',
      created: '2024-01-02T03:04:05Z',
      config: { Entrypoint: ['/usr/bin/uai-ssh.sh'], Cmd: ['-v'], Env: ['A=1', 'PATH=/usr/bin'], WorkingDir: '/root', User: 'root', Labels: { 'org.example': 'yes' } },
      rootfs: { type: 'layers', diff_ids: [D1] },
    });
    expect(cfg.history).toHaveLength(1);
    expect(cfg.history[0].created).toBe('2024-01-02T03:04:05Z');
  });

  it('leaves out what was not asked for', () => {
    const cfg = JSON.parse(new TextDecoder().decode(imageConfigBytes({ architecture: 'amd64', created: '1970-01-01T00:00:00Z', diffIds: [D1] })));
    expect(cfg.config).toEqual({});
    expect(cfg.variant).toBeUndefined();
  });

  it('refuses a bad diff_id and a bad env entry', () => {
    expect(() => imageConfigBytes({ ...base, diffIds: ['sha256:xyz'] })).toThrow(expect.objectContaining({ code: 'UAI_IMAGE_INVALID_OPTION' }));
    expect(() => imageConfigBytes({ ...base, env: ['NOEQUALS'] })).toThrow(expect.objectContaining({ code: 'UAI_IMAGE_INVALID_OPTION' }));
    expect(() => imageConfigBytes({ ...base, diffIds: [] })).toThrow(expect.objectContaining({ code: 'UAI_IMAGE_INVALID_OPTION' }));
  });
});

describe('manifest', () => {
  const config = { digest: D2, size: 123 };

  it('OCI: top-level mediaType, OCI config type, layers as given, annotations', () => {
    const doc = manifestDocument({
      format: 'oci',
      config,
      layers: [{ mediaType: OCI_LAYER_TAR, digest: D1, size: 10 }],
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
    });
    expect(doc).toEqual({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: D2, size: 123 },
      layers: [{ mediaType: OCI_LAYER_TAR, digest: D1, size: 10 }],
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
    });
  });

  it('Docker schema2: docker media types, no annotations, gzip layers only', () => {
    const doc = manifestDocument({ format: 'docker', config, layers: [{ mediaType: OCI_LAYER_GZIP, digest: D1, size: 10 }], annotations: { a: 'b' } });
    expect(doc).toEqual({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, digest: D2, size: 123 },
      layers: [{ mediaType: DOCKER_LAYER_GZIP, digest: D1, size: 10 }],
    });
    expect(() => manifestBytes({ format: 'docker', config, layers: [{ mediaType: OCI_LAYER_TAR, digest: D1, size: 10 }] })).toThrow(
      expect.objectContaining({ code: 'UAI_IMAGE_LAYER_TYPE' }),
    );
  });

  it('assembleImage: the manifest points at the config bytes and the layer digests', () => {
    const layer = fakeLayer(OCI_LAYER_GZIP, D1, D2, 77);
    const image = assembleImage({ format: 'oci', layers: [layer], config: { architecture: 'amd64', created: '2020-01-01T00:00:00Z' } });
    const manifest = JSON.parse(new TextDecoder().decode(image.manifest.bytes));
    const configHash = `sha256:${createHash('sha256').update(image.config.bytes).digest('hex')}`;
    expect(manifest.config).toEqual({ mediaType: OCI_CONFIG, digest: configHash, size: image.config.bytes.length });
    expect(manifest.layers).toEqual([{ mediaType: OCI_LAYER_GZIP, digest: D1, size: 77 }]);
    expect(JSON.parse(new TextDecoder().decode(image.config.bytes)).rootfs.diff_ids).toEqual([D2]);
    expect(image.manifest.descriptor.digest).toBe(`sha256:${createHash('sha256').update(image.manifest.bytes).digest('hex')}`);
  });
});

describe('entrypoint and cmd, as podman import --change', () => {
  it('a JSON array is the exec form, used as is', () => {
    expect(parseEntrypoint('["/usr/bin/uai-ssh.sh","-x"]')).toEqual(['/usr/bin/uai-ssh.sh', '-x']);
    expect(parseCmd(' ["a", "b c"] ')).toEqual(['a', 'b c']);
  });

  it('a plain string is the shell form', () => {
    expect(parseEntrypoint('/usr/bin/uai-ssh.sh')).toEqual(['/bin/sh', '-c', '/usr/bin/uai-ssh.sh']);
    expect(parseEntrypoint('[not json')).toEqual(['/bin/sh', '-c', '[not json']);
    expect(parseEntrypoint('[1,2]')).toEqual(['/bin/sh', '-c', '[1,2]']);
    expect(parseCmd('echo hi')).toEqual(['/bin/sh', '-c', 'echo hi']);
  });

  it('an empty string is an empty list; arrays pass through', () => {
    expect(parseEntrypoint('')).toEqual([]);
    expect(parseEntrypoint(['x', 'y'])).toEqual(['x', 'y']);
  });
});

describe('created time', () => {
  it('SOURCE_DATE_EPOCH wins over the mkfs time', () => {
    expect(createdTime({ env: { SOURCE_DATE_EPOCH: '1600000000' }, mkfsTime: 1700000000 })).toMatchObject({
      rfc3339: '2020-09-13T12:26:40Z',
      from: 'SOURCE_DATE_EPOCH',
    });
  });

  it('else the mkfs time, else the epoch — never the wall clock', () => {
    expect(createdTime({ env: {}, mkfsTime: 1700000000 })).toMatchObject({ rfc3339: '2023-11-14T22:13:20Z', from: 'mkfs' });
    expect(createdTime({ env: {} })).toMatchObject({ rfc3339: '1970-01-01T00:00:00Z', from: 'epoch' });
  });

  it('refuses a SOURCE_DATE_EPOCH that is not whole seconds', () => {
    expect(() => createdTime({ env: { SOURCE_DATE_EPOCH: 'yesterday' } })).toThrow(expect.objectContaining({ code: 'UAI_IMAGE_CREATED' }));
  });
});
