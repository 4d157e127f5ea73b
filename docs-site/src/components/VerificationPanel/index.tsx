// The top of every lab page, in one line: on which PostgreSQL versions the page was verified and when,
// or where it failed, with a link to the details at the end of the page (VerificationDetails).
import type { ReactNode } from 'react';
import clsx from 'clsx';
import { usePluginData } from '@docusaurus/useGlobalData';
import type { WorkshopData } from '@site/src/plugins/reports/index.mts';
import type { LabRun, LabVerification } from '@site/src/plugins/reports/summary.mts';
import styles from './styles.module.css';

// The id of the details section at the end of a lab page.
export const DETAILS_ID = 'verification-details';

// "1 December 2026", or "27 November – 1 December 2026" when the runs span several days.
function datesText(runs: LabRun[]): string {
  const sorted = [...runs].sort((a, b) => a.endedAt.localeCompare(b.endedAt));
  const dates = [...new Set(sorted.map((run) => run.date))];
  return dates.length === 1 ? dates[0]! : `${dates[0]} – ${dates.at(-1)}`;
}

// The panel's one line: "Verified on PostgreSQL 15.18 · 17.12 · 18.6 — 1 December 2026", a failure as plainly.
export function oneLine(lab: LabVerification): string {
  const passed = lab.runs.filter((run) => run.status === 'passed');
  const failed = lab.runs.filter((run) => run.status === 'failed');
  const on = (runs: LabRun[]) => `PostgreSQL ${runs.map((run) => run.postgres).join(' · ')} — ${datesText(runs)}`;
  if (passed.length === 0) return `Failed on ${on(failed)}: this page may not match what you see`;
  if (failed.length === 0) return `Verified on ${on(passed)}`;
  return `Failed on ${on(failed)}; verified on ${on(passed)}`;
}

export default function VerificationPanel({ source }: { source: string }): ReactNode {
  const data = usePluginData('workshop-reports') as WorkshopData;
  const lab: LabVerification | undefined = data.labs[source];
  const state = lab?.state ?? 'not-verified';
  const icon = { verified: '✓', partly: '✗', failed: '✗', 'not-verified': '?' }[state];
  return (
    <section className={clsx(styles.panel, styles[state])} aria-label="Verification" data-state={state}>
      <p className={styles.headline}>
        <span className={styles.icon} aria-hidden>{icon}</span>
        <span className={styles.line}>{lab && state !== 'not-verified' ? oneLine(lab) : 'Not verified yet: no run of this lab has been recorded'}</span>
        <a className={styles.more} href={`#${DETAILS_ID}`}>{state === 'not-verified' ? 'how to verify it' : 'details'}</a>
      </p>
    </section>
  );
}
