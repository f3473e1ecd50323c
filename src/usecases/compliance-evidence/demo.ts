import type { DemoContext } from '../contract';
import { compliancePlaybook } from './playbook';

/** What the demo's run produced. */
interface DemoRunResult {
  status: string;
  outputs: { report?: { files?: { html: string; pdf: string; oscal: string } } };
}

/**
 * `warden dev`'s demo: one collection over the bundled sample sources (Prowler output, IAM credential
 * report, Warden's own ledger; Okta and GitHub when configured), scored against the sample catalog, with
 * its report written to the data directory. The demo skips the attestation wait so the report appears at
 * once; `warden compliance run` includes it. The narrator runs only when an LLM endpoint is configured.
 */
export async function runComplianceDemo(ctx: DemoContext): Promise<void> {
  const workflowId = `compliance-demo-${Date.now()}`;
  const narrate = Boolean(ctx.config.llm.baseURL);
  await ctx.client.start(
    'runPlaybook',
    { playbook: compliancePlaybook(), input: { attestation: false, narrate }, initiator: 'warden-dev' },
    { workflowId, summary: 'compliance evidence demo over the sample sources' },
  );
  ctx.say(`compliance: collecting evidence from the sample sources (run ${workflowId})`);
  if (!narrate) ctx.say('compliance: set OPENAI_BASE_URL to let agent:compliance-narrator draft narratives');
  const result = await ctx.client.result<DemoRunResult>(workflowId);
  const files = result.outputs.report?.files;
  if (files) {
    ctx.say(`compliance: report ${files.html}`);
    ctx.say(`compliance: PDF ${files.pdf}, OSCAL ${files.oscal}`);
    ctx.say(`compliance: verify the evidence with \`warden compliance verify-evidence ${workflowId}\``);
  } else
    ctx.say(`compliance: the demo run ended ${result.status} without a report; see \`warden status ${workflowId}\``);
}
