/**
 * Account pinning (SPEC §2): once verify-credentials has proven the account and region, every
 * later AWS tool on the task must resolve to the same ones, or it is refused before it runs.
 */
import type { DeploymentService } from '../deployment.js';
import type { Preflight } from '../tool-runner.js';
import { refusal } from '../workflow/guard.js';
import { callerIdentity } from './identity.js';

export function accountPinning(deployments: () => DeploymentService | null): Preflight {
  return async (tool, state) => {
    if (!state.pinned) return null;
    const service = deployments();
    if (!service) return null;
    const clients = service.awsFor(state);
    let identity;
    try {
      identity = await callerIdentity(clients);
    } catch (err) {
      // Cannot prove who we are: fail closed rather than act in an unknown account.
      const problem = (err as { problem?: { message: string; nextStep: string } }).problem;
      return refusal(
        tool,
        'account-mismatch',
        `Could not confirm the AWS identity before ${tool.name}: ${problem?.message ?? (err as Error).message}`,
        problem?.nextStep ?? 'Check the credentials for this environment, then call the tool again.',
        { taskId: state.taskId, phase: state.phase },
      );
    }
    if (identity.account !== state.pinned.account || identity.region !== state.pinned.region) {
      return refusal(
        tool,
        'account-mismatch',
        `The credentials now resolve to account ${identity.account} in ${identity.region}, but task ${state.taskId} is pinned to account ${state.pinned.account} in ${state.pinned.region} (verified at seq ${state.pinned.seq}).`,
        `Switch back to the credentials of environment "${state.environment}" (profile ${service.config?.environments?.[state.environment]?.profile ?? 'default'}); nothing was sent to AWS beyond sts:GetCallerIdentity.`,
        { taskId: state.taskId, phase: state.phase },
      );
    }
    return null;
  };
}
