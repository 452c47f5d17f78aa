/** Every tool the server registers. A new tool is added here and nowhere else. */
import type { AnyToolDefinition } from '../src/tool.js';
import archiveArtifacts from './archive-artifacts.js';
import backupState from './backup-state.js';
import checkConfig from './check-config.js';
import checkLogs from './check-logs.js';
import configureSchedule from './configure-schedule.js';
import costCheck from './cost-check.js';
import createAlarm from './create-alarm.js';
import createBranch from './create-branch.js';
import createDashboard from './create-dashboard.js';
import deployLambda from './deploy-lambda.js';
import deploymentStatus from './deployment-status.js';
import generateReport from './generate-report.js';
import listResources from './list-resources.js';
import listTasks from './list-tasks.js';
import measurePerformance from './measure-performance.js';
import notifyStakeholders from './notify-stakeholders.js';
import planRollback from './plan-rollback.js';
import recordPlan from './record-plan.js';
import requestTransition from './request-transition.js';
import rollback from './rollback.js';
import runChecks from './run-checks.js';
import securityAudit from './security-audit.js';
import smokeTest from './smoke-test.js';
import startDeployment from './start-deployment.js';
import tagRelease from './tag-release.js';
import testAlarm from './test-alarm.js';
import testRollback from './test-rollback.js';
import uploadArtifacts from './upload-artifacts.js';
import verifyCredentials from './verify-credentials.js';
import verifyInfrastructure from './verify-infrastructure.js';
import verifyResource from './verify-resource.js';
import writeJournal from './write-journal.js';
import writeRunbook from './write-runbook.js';

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
  // Phase 2: environment preparation
  createBranch,
  runChecks,
  checkConfig,
  backupState,
  // Phase 4: application deployment (smoke-test and check-logs also in phase 5)
  uploadArtifacts,
  deployLambda,
  configureSchedule,
  smokeTest,
  checkLogs,
  // Phase 5: validation (cost-check also runs at the other cost checkpoints, phases 3-8)
  securityAudit,
  measurePerformance,
  costCheck,
  // Phase 6: monitoring
  createAlarm,
  createDashboard,
  testAlarm,
  writeRunbook,
  // Phase 7: rollback preparation; rollback itself runs in phases 4-8, human-confirmed
  planRollback,
  testRollback,
  rollback,
  // Phase 8: post-deployment (notify-stakeholders from phase 4 on)
  generateReport,
  tagRelease,
  archiveArtifacts,
  notifyStakeholders,
];
