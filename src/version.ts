/* eslint-disable @typescript-eslint/no-require-imports */
/** Warden's version (package.json). */
export const WARDEN_VERSION: string = (require('../package.json') as { version: string }).version;
/** The pinned Temporal SDK version. */
export const SDK_VERSION: string = (require('@temporalio/worker/package.json') as { version: string }).version;
