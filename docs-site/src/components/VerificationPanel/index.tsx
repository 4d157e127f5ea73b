// The top of every lab page: on which PostgreSQL versions the harness ran the lab and when, how long
// it took, what it measured, and plots of the series it recorded, from the run reports.
import type { ReactNode } from 'react';
import clsx from 'clsx';
import { usePluginData } from '@docusaurus/useGlobalData';
import type { WorkshopData } from '@site/src/plugins/reports/index.mts';
import type { LabRun, LabVerification } from '@site/src/plugins/reports/summary.mts';
import SeriesChart from '@site/src/components/SeriesChart';
import styles from './styles.module.css';

const STATUS_TEXT: Record<LabRun['status'], string> = { passed: '✓ passed', failed: '✗ failed', 'not-applicable': '– does not apply' };

const NOTES: Record<LabVerification['state'], string> = {
  verified: 'The workshop’s harness typed every command of this page into real terminals and checked the output shown here.',
  partly: 'On the versions marked passed, the harness typed every command of this page and checked the output shown here.',
  failed: 'The harness could not complete this lab in its last run: the page may not match what you see.',
  'not-verified': '',
};

function NotVerified({ source }: { source: string }): ReactNode {
  // lab.md is the lab `<module>`, lab-<name>.md the lab `<module>-<name>`.
  const match = /\/curriculum\/([^/]+)\/lab(?:-([\w-]+))?\.md$/.exec(source);
  const module = match && (match[2] ? `${match[1]}-${match[2]}` : match[1]);
  return (
    <section className={clsx(styles.panel, styles['not-verified'])} aria-label="Verification" data-state="not-verified">
      <p className={styles.headline}>
        <span className={styles.icon} aria-hidden>?</span>Not verified
      </p>
      <p className={styles.note}>
        No run report covers this lab yet. <code>npx workshop verify {module ?? '<lab>'} --pg all</code> runs it and writes one.
      </p>
    </section>
  );
}

function RunsTable({ lab }: { lab: LabVerification }): ReactNode {
  const runs = lab.runs;
  return (
    <div className={styles.tableWrap}>
      <table className={styles.table}>
        <thead>
          <tr>
            <th scope="col">PostgreSQL</th>
            {runs.map((run) => <th scope="col" key={run.major}>{run.postgres}</th>)}
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">result</th>
            {runs.map((run) => (
              <td key={run.major} className={styles[run.status]} title={run.problems.join('\n') || undefined}>{STATUS_TEXT[run.status]}</td>
            ))}
          </tr>
          <tr>
            <th scope="row">lab duration</th>
            {runs.map((run) => <td key={run.major} data-duration-ms={run.durationMs}>{run.status === 'not-applicable' ? '' : run.duration}</td>)}
          </tr>
          {lab.toolNames.map((tool) => (
            <tr key={tool}>
              <th scope="row">{tool}</th>
              {runs.map((run) => <td key={run.major}>{run.tools[tool] ?? ''}</td>)}
            </tr>
          ))}
          <tr>
            <th scope="row">run</th>
            {runs.map((run) => <td key={run.major} title={`run ${run.runId}`}><time dateTime={run.endedAt}>{run.date}</time></td>)}
          </tr>
          {lab.measurements.map((measurement) => (
            <tr key={measurement.name} className={styles.measurement}>
              <th scope="row">
                <code>{measurement.name}</code>
                {measurement.description && <span className={styles.description}>{measurement.description}</span>}
              </th>
              {runs.map((run) => (
                <td key={run.major} className={styles.number}>
                  {measurement.values[run.major] !== undefined ? `${measurement.values[run.major]} ${measurement.unit}` : ''}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function VerificationPanel({ source }: { source: string }): ReactNode {
  const data = usePluginData('workshop-reports') as WorkshopData;
  const lab = data.labs[source];
  if (!lab || lab.state === 'not-verified') return <NotVerified source={source} />;
  return (
    <section className={clsx(styles.panel, styles[lab.state])} aria-label="Verification" data-state={lab.state}>
      <p className={styles.headline}>
        <span className={styles.icon} aria-hidden>{lab.state === 'failed' ? '✗' : '✓'}</span>
        {lab.headline}
      </p>
      <p className={styles.note}>{NOTES[lab.state]}</p>
      <details className={styles.details} open>
        <summary>Runs and measurements</summary>
        <RunsTable lab={lab} />
        {lab.series.map((chart) => <SeriesChart key={chart.name} chart={chart} />)}
      </details>
    </section>
  );
}
