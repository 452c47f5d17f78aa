/** Every tool the server registers. A new tool is added here and nowhere else. */
import type { AnyToolDefinition } from '../src/tool.js';
import deploymentStatus from './deployment-status.js';
import listResources from './list-resources.js';
import listTasks from './list-tasks.js';
import recordPlan from './record-plan.js';
import requestTransition from './request-transition.js';
import startDeployment from './start-deployment.js';
import verifyCredentials from './verify-credentials.js';
import verifyInfrastructure from './verify-infrastructure.js';
import verifyResource from './verify-resource.js';
import writeJournal from './write-journal.js';

export const ALL_TOOLS: readonly AnyToolDefinition[] = [
  // Always / any phase
  startDeployment,
  listTasks,
  deploymentStatus,
  writeJournal,
  requestTransition,
  // Phase 1 and 3: AWS verification
  verifyCredentials,
  listResources,
  recordPlan,
  verifyResource,
  verifyInfrastructure,
];
