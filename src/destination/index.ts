export type * from './registry/client-api.ts';
