/*
 * The workflow barrel: the worker's `workflowsPath`. Every exported function is a workflow type, so only
 * workflows and their signal/query definitions are exported here.
 */
export { healthCheck } from './health-check';
