// The end of every lab page: how the page was verified, per PostgreSQL version (result, duration, tool
// versions, date), every measurement under its label in words (labs/<lab>.labels.yaml; the machine name
// stays in the report and in the row's data-measurement), and the plots the page does not already show
// beside its text.
import type { ReactNode } from 'react';
import { useDoc } from '@docusaurus/plugin-content-docs/client';
import { usePluginData } from '@docusaurus/useGlobalData';
import type { WorkshopData } from '@site/src/plugins/reports/index.mts';
import type { LabRun, LabVerification } from '@site/src/plugins/reports/summary.mts';
import type { PageFigures } from '@site/src/remark/lab-figures.mts';
import SeriesChart from '@site/src/components/SeriesChart';
import { DETAILS_ID } from '@site/src/components/VerificationPanel';
import styles from '@site/src/components/VerificationPanel/styles.module.css';

const STATUS_TEXT: Record<LabRun['status'], string> = { passed: '✓ passed', failed: '✗ failed', 'not-applicable': '– does not apply' };

const NOTES: Record<LabVerification['state'], string> = {
  verified: 'On each of these versions every command of this page was typed into real terminals, in order, and its output checked against what the page shows.',
  partly: 'On the versions marked passed, every command of this page was typed into real terminals and its output checked against what the page shows.',
  failed: 'The last run of this lab did not complete: the page may not match what you see.',
  'not-verified': '',
};

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
            <th scope="row">time to run the whole lab</th>
            {runs.map((run) => <td key={run.major} data-duration-ms={run.durationMs}>{run.status === 'not-applicable' ? '' : run.duration}</td>)}
          </tr>
          {lab.toolNames.map((tool) => (
            <tr key={tool}>
              <th scope="row">{tool}</th>
              {runs.map((run) => <td key={run.major}>{run.tools[tool] ?? ''}</td>)}
            </tr>
          ))}
          <tr>
            <th scope="row">run on</th>
            {runs.map((run) => <td key={run.major} title={`run ${run.runId}`}><time dateTime={run.endedAt}>{run.date}</time></td>)}
          </tr>
          {lab.measurements.map((measurement) => (
            <tr key={measurement.name} className={styles.measurement} data-measurement={measurement.name}>
              <th scope="row">{measurement.label}</th>
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

export default function VerificationDetails({ figures }: { figures: string }): ReactNode {
  const page = JSON.parse(figures) as PageFigures;
  const { metadata } = useDoc();
  const data = usePluginData('workshop-reports') as WorkshopData;
  const lab = data.labs[metadata.source];
  // lab.md is the lab `<module>`, lab-<name>.md the lab `<module>-<name>`.
  const match = /\/curriculum\/([^/]+)\/lab(?:-([\w-]+))?\.md$/.exec(metadata.source);
  const module = match && (match[2] ? `${match[1]}-${match[2]}` : match[1]);
  const unplaced = (lab?.series ?? []).filter((chart) => !page.placed.includes(chart.name));
  return (
    <section id={DETAILS_ID} className={styles.details} aria-labelledby={`${DETAILS_ID}-title`} data-state={lab?.state ?? 'not-verified'}>
      <h2 id={`${DETAILS_ID}-title`}>How this page was verified</h2>
      {!lab || lab.state === 'not-verified' ? (
        <p>
          No run of this lab has been recorded yet. From the workshop repository, <code>npx workshop verify {module ?? '<lab>'} --pg all</code> runs
          every command of this page on each PostgreSQL version and records what it measured.
        </p>
      ) : (
        <>
          <p className={styles.summary}>{lab.headline}.</p>
          <p className={styles.note}>{NOTES[lab.state]}</p>
          <RunsTable lab={lab} />
          {unplaced.map((chart) => <SeriesChart key={chart.name} chart={chart} />)}
        </>
      )}
    </section>
  );
}
