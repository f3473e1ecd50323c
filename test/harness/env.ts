/** Environment variables through which the global setup hands the shared server to the suites. */
export const HARNESS_ENV = {
  address: 'WARDEN_TEST_TEMPORAL_ADDRESS',
  bundle: 'WARDEN_TEST_WORKFLOW_BUNDLE',
  dir: 'WARDEN_TEST_DIR',
} as const;
