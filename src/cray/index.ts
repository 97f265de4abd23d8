/** CSM clients: gateway auth, BOS, IMS, STS/S3, UAS; and the rootfs of a BOS template or IMS image. */
export { CrayError, type CrayErrorCode } from './errors.ts';
export { createCrayContext, DEFAULT_API_GATEWAY, type CrayContext, type CrayContextOptions } from './context.ts';
export { readCrayCliConfig, crayConfigDir, tokenFileName, type CrayCliConfig } from './cray-config.ts';
export { GatewayHttp, TENANT_HEADER, type GatewayRequest, type GatewayResponse } from './gateway-http.ts';
export { FileTokenSource, ClientCredentialsTokenSource, keycloakTokenPath, type TokenSource, type TokenSourceOptions } from './token-source.ts';
export { getSessionTemplate, selectBootSet, normalizeArch, type BootSet, type SessionTemplate, type SessionTemplateResult } from './bos.ts';
export { getImsImage, type ImsImage } from './ims.ts';
export { parseImsManifest, ROOTFS_ARTIFACT_TYPE, MAX_MANIFEST_BYTES, type RootfsArtifact } from './manifest.ts';
export { requestStsCredentials, StsCredentialsProvider, STS_TOKEN_PATH, type StsCredentials, type StsProviderOptions } from './sts.ts';
export {
  registerUaiImage,
  listUaiImages,
  setUaiImageDefault,
  UAS_IMAGES_PATH,
  type RegisterOptions,
  type RegisterResult,
  type UaiImageRecord,
} from './uas.ts';
export { locateBosRootfs, locateImsRootfs, openS3Rootfs, type RootfsLocation, type RootfsPlan, type OpenRootfsOptions } from './rootfs.ts';
