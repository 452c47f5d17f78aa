/** Every tool the server registers. A new tool is added here and nowhere else. */
import type { AnyToolDefinition } from '../src/tool.js';
import deploymentStatus from './deployment-status.js';
import listTasks from './list-tasks.js';
import requestTransition from './request-transition.js';
import startDeployment from './start-deployment.js';
import writeJournal from './write-journal.js';

export const ALL_TOOLS: readonly AnyToolDefinition[] = [startDeployment, listTasks, deploymentStatus, writeJournal, requestTransition];
