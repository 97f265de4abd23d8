import { PassThrough } from 'node:stream';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CRAY_OPTIONS, crayContextOptionsFrom, downloadPathFrom } from '../../src/cli/cray-options.ts';
import type { CliIo } from '../../src/cli/io.ts';

function io(): CliIo & { err: () => string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (d: Buffer) => (text += d.toString()));
  return { stdout: new PassThrough(), stderr, env: { HOME: '/home/x' }, cwd: '/work/dir', signal: new AbortController().signal, isTTY: false, err: () => text };
}

describe('CRAY_OPTIONS / crayContextOptionsFrom', () => {
  it('maps the flags, resolving file paths against the working directory', () => {
    const { values } = parseArgs({
      args: ['--api-gateway', 'api.cmn.example', '--token', 'tok.json', '--tenant', 'vc-a', '--ca-file', '/etc/ca.pem', '--s3-endpoint', 'https://rgw', '--download', 'root.sqfs', '--register', '--default', '--dry-run'],
      options: CRAY_OPTIONS,
    });
    const cli = io();
    const opts = crayContextOptionsFrom(values, cli);
    expect(opts).toMatchObject({ apiGateway: 'api.cmn.example', tokenFile: '/work/dir/tok.json', tenant: 'vc-a', caFile: '/etc/ca.pem', s3Endpoint: 'https://rgw', env: { HOME: '/home/x' } });
    expect(opts.signal).toBe(cli.signal);
    expect(downloadPathFrom(values, cli)).toBe('/work/dir/root.sqfs');
    expect(values).toMatchObject({ register: true, default: true, 'dry-run': true });
    opts.onWarning?.({ code: 'UAI_X', message: 'careful' });
    expect(cli.err()).toBe('uai-assemble: warning: careful\n');
  });

  it('leaves unset flags unset, and keeps an empty --tenant (meaning: none)', () => {
    const { values } = parseArgs({ args: ['--tenant', '', '--client-id', 'admin-client', '--client-secret-file', 's'], options: CRAY_OPTIONS });
    const opts = crayContextOptionsFrom(values, io());
    expect(opts.tenant).toBe('');
    expect(opts).toMatchObject({ clientId: 'admin-client', clientSecretFile: '/work/dir/s' });
    expect('apiGateway' in opts || 'tokenFile' in opts || 'caFile' in opts).toBe(false);
    expect(downloadPathFrom(values, io())).toBeUndefined();
  });
});
