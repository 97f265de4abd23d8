/**
 * A private PKI for tests, made with the real `openssl`: a CA, a server certificate
 * for 127.0.0.1 / ::1 / localhost signed by it, and any number of further leaf
 * certificates (token signing, client certificates). EC P-256 keys: fast to make.
 *
 *   const pki = makePki(dir);            // pki.caFile, pki.serverCert, pki.serverKey
 *   const leaf = pki.issue('token');     // { cert, key } paths, signed by the CA
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LeafFiles {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  /** The CA certificate (PEM): what a client must trust. */
  caFile: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** A podman-layout cert dir holding `ca.crt` only. */
  certDir: string;
  /** Another leaf certificate signed by the CA (extendedKeyUsage per `usage`). */
  issue(name: string, usage?: 'serverAuth' | 'clientAuth' | 'any'): LeafFiles;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ecKey(path: string, cwd: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path], cwd);
}

/** A self-signed certificate and key that no one trusts (for "unknown CA" tests). */
export function makeSelfSigned(dir: string, name: string): LeafFiles {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  ecKey(key, dir);
  openssl(
    ['req', '-new', '-x509', '-key', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost'],
    dir,
  );
  return { cert, key };
}

export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.crt');
  ecKey(caKey, dir);
  openssl(
    ['req', '-new', '-x509', '-key', caKey, '-out', caFile, '-days', '2', '-subj', '/CN=uai-assembler test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  let serial = 1;
  const issue = (name: string, usage: 'serverAuth' | 'clientAuth' | 'any' = 'any'): LeafFiles => {
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const cert = join(dir, `${name}.crt`);
    const ext = join(dir, `${name}.ext`);
    ecKey(key, dir);
    openssl(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${name}`], dir);
    const eku = usage === 'any' ? 'serverAuth,clientAuth' : usage;
    writeFileSync(
      ext,
      ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', `extendedKeyUsage=${eku}`,
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost'].join('\n') + '\n',
    );
    openssl(
      ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', String(++serial), '-days', '2', '-out', cert, '-extfile', ext],
      dir,
    );
    return { cert, key };
  };
  const server = issue('server', 'serverAuth');
  const certDir = join(dir, 'certs.d');
  mkdirSync(certDir, { recursive: true });
  execFileSync('cp', [caFile, join(certDir, 'ca.crt')]);
  return { dir, caFile, caKey, serverCert: server.cert, serverKey: server.key, certDir, issue };
}
