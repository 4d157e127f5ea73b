// A lab's figure where the page talks about it: per PostgreSQL version, what the run measured, in the
// sentences the page's `figure` block gives and the labels of labs/<lab>.labels.yaml (both filled in by
// src/remark/lab-figures.mts), then the plots it names.
// A measurement or series the reports lack is said plainly, never left blank.
import type { ReactNode } from 'react';
import { useDoc } from '@docusaurus/plugin-content-docs/client';
import { usePluginData } from '@docusaurus/useGlobalData';
import type { WorkshopData } from '@site/src/plugins/reports/index.mts';
import type { FigureSpec } from '@site/src/remark/lab-figures.mts';
import SeriesChart from '@site/src/components/SeriesChart';
import { sentence } from './words';
import styles from './styles.module.css';

export default function LabFigure({ spec }: { spec: string }): ReactNode {
  const figure = JSON.parse(spec) as FigureSpec;
  const { metadata } = useDoc();
  const data = usePluginData('workshop-reports') as WorkshopData;
  const lab = data.labs[metadata.source];
  const runs = (lab?.runs ?? []).filter((run) => run.status !== 'not-applicable');
  return (
    <figure className={styles.figure} data-figure={figure.measurements.map((m) => m.name).concat(figure.plots.map((p) => p.series)).join(' ')}>
      <figcaption className={styles.caption}>{figure.caption}</figcaption>
      {runs.length === 0 ? (
        <p className={styles.missing} data-missing="report">Not measured yet: no run of this lab has been recorded on any PostgreSQL version.</p>
      ) : (
        <dl className={styles.versions}>
          {runs.map((run) => {
            const found = figure.measurements.filter((m) => lab!.measurements.some((row) => row.name === m.name && row.values[run.major] !== undefined));
            const absent = figure.measurements.filter((m) => !found.includes(m));
            return (
              <div key={run.major} className={styles.version} data-major={run.major}>
                <dt>PostgreSQL {run.postgres}{run.status === 'failed' && <span className={styles.failed}> (this run failed)</span>}</dt>
                <dd>
                  {found.length > 0 && (
                    <span data-words>
                      {found.map((m) => sentence(m, lab!.measurements.find((row) => row.name === m.name)!.values[run.major]!)).join('; ')}.
                    </span>
                  )}
                  {absent.map((m) => (
                    <span key={m.name} className={styles.missing} data-missing={m.name}>
                      {' '}Not in the report of this run: {m.label} (<code>{m.name}</code>).
                    </span>
                  ))}
                </dd>
              </div>
            );
          })}
        </dl>
      )}
      {figure.plots.map((plot) => {
        const chart = lab?.series.find((series) => series.name === plot.series);
        if (chart) return <SeriesChart key={plot.series} chart={chart} />;
        if (runs.length === 0) return null;
        return (
          <p key={plot.series} className={styles.missing} data-missing={plot.series}>
            No plot of {plot.label}: the reports of this lab have no series <code>{plot.series}</code>.
          </p>
        );
      })}
    </figure>
  );
}
