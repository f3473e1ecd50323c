/*
 * The workflow barrel: the worker's `workflowsPath`. Every exported function is a workflow type, so only
 * workflows and their signal/query definitions are exported here.
 */
export { healthCheck } from './health-check';
export { runPlaybook } from './run-playbook';
export { forEachBatch } from './for-each-batch';
export { governor } from './governor';
export { thresholdEntity } from './threshold-entity';
export * from './contract';
