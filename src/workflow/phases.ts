/** The eight phases of the deployment workflow (SPEC §1), as data. */

export type PhaseNumber = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export type PhaseId =
  | 'analysis'
  | 'preparation'
  | 'infrastructure'
  | 'application'
  | 'validation'
  | 'monitoring'
  | 'rollback-prep'
  | 'post-deployment';

export interface CriterionDefinition {
  id: string;
  text: string;
}

export interface Phase {
  number: PhaseNumber;
  id: PhaseId;
  name: string;
  purpose: string;
  criteria: readonly CriterionDefinition[];
}

export const PHASES: readonly Phase[] = [
  {
    number: 1,
    id: 'analysis',
    name: 'Pre-Deployment Analysis',
    purpose: 'Understand what exists, prove which account you are in, and write down the plan.',
    criteria: [
      { id: 'plan-recorded', text: 'Plan recorded (record-plan: components, order, rollback strategy, expected downtime)' },
      { id: 'infrastructure-listed', text: 'Current infrastructure listed (list-resources succeeded in this phase)' },
      { id: 'credentials-verified', text: "Credentials verified (verify-credentials succeeded and account/region match the environment's config)" },
    ],
  },
  {
    number: 2,
    id: 'preparation',
    name: 'Environment Preparation',
    purpose: 'Make sure what is about to be deployed is the tested thing, on its own branch, with a way back.',
    criteria: [
      { id: 'branch-created', text: 'Deployment branch created (create-branch)' },
      { id: 'checks-passed', text: 'All configured checks passed in their latest run (run-checks)' },
      { id: 'config-clean', text: 'Environment config and secrets scan clean (check-config)' },
      { id: 'backup-taken', text: 'Backup taken (backup-state), unless the plan says nothing exists yet' },
    ],
  },
  {
    number: 3,
    id: 'infrastructure',
    name: 'Infrastructure Deployment',
    purpose: 'The human changes infrastructure; every change is verified through the AWS API.',
    criteria: [
      { id: 'infrastructure-verified', text: 'Every resource in the config verified by API with zero discrepancies (verify-infrastructure, latest run)' },
    ],
  },
  {
    number: 4,
    id: 'application',
    name: 'Application Deployment',
    purpose: 'Ship the code, reversibly, and prove it runs.',
    criteria: [
      { id: 'components-deployed', text: 'Every planned component deployed (deploy-lambda / upload-artifacts)' },
      { id: 'smoke-passed', text: 'Latest smoke-test run all passing' },
      { id: 'logs-clean', text: 'check-logs since the deployment shows no critical errors' },
    ],
  },
  {
    number: 5,
    id: 'validation',
    name: 'Validation & Testing',
    purpose: 'Decide whether the deployment can be trusted: integration, security, performance, cost.',
    criteria: [
      { id: 'integration-passed', text: 'Integration checks passed (run-checks with the integration check)' },
      { id: 'security-clean', text: 'security-audit has no high-severity finding' },
      { id: 'performance-ok', text: 'measure-performance within configured thresholds' },
      { id: 'cost-checked', text: 'cost-check done (or recorded as unavailable, with the reason)' },
    ],
  },
  {
    number: 6,
    id: 'monitoring',
    name: 'Monitoring Setup',
    purpose: 'Make sure a failure will be noticed and someone knows what to do.',
    criteria: [
      { id: 'alarms-per-function', text: 'At least one alarm per deployed function (create-alarm)' },
      { id: 'dashboard-created', text: 'A dashboard (create-dashboard)' },
      { id: 'alarms-tested', text: 'Every created alarm tested (test-alarm)' },
      { id: 'runbook-written', text: 'Runbook written (write-runbook)' },
    ],
  },
  {
    number: 7,
    id: 'rollback-prep',
    name: 'Rollback Preparation',
    purpose: 'Have a rehearsed way back before calling the deployment done.',
    criteria: [
      { id: 'rollback-planned', text: 'Rollback procedure generated (plan-rollback)' },
      { id: 'rollback-rehearsed', text: 'Rollback rehearsed successfully with its duration recorded (test-rollback)' },
    ],
  },
  {
    number: 8,
    id: 'post-deployment',
    name: 'Post-Deployment',
    purpose: 'Document, tag and archive what was done.',
    criteria: [
      { id: 'report-generated', text: 'Report generated (generate-report)' },
      { id: 'release-tagged', text: 'Release tagged (tag-release)' },
      { id: 'artifacts-archived', text: 'Artifacts archived (archive-artifacts)' },
    ],
  },
];

export const FINAL_PHASE: PhaseNumber = 8;

export function phaseByNumber(n: number): Phase {
  const phase = PHASES[n - 1];
  if (!phase) throw new Error(`There is no phase ${n}; phases are numbered 1 to 8.`);
  return phase;
}

export function phaseRef(n: number): { number: PhaseNumber; id: PhaseId; name: string } {
  const p = phaseByNumber(n);
  return { number: p.number, id: p.id, name: p.name };
}

export function describePhases(phases: 'always' | 'any' | readonly number[]): string {
  if (phases === 'always') return 'any time, with or without a task';
  if (phases === 'any') return 'every phase of an active task';
  return phases.map((n) => `${n} (${phaseByNumber(n).id})`).join(', ');
}
