// Beside a lesson's or lab's breadcrumbs, above its title, how long the page takes on the core path
// ("About 14 min"), and its deep dives' time when it has some (src/theme/DocBreadcrumbs); at a deep dive's
// heading, the "Go further (deep dive)" marker (written by src/remark/agenda-marks.mts). The minutes are
// the agenda plugin's.
import type { ReactNode } from 'react';
import Link from '@docusaurus/Link';
import { usePluginData } from '@docusaurus/useGlobalData';
import { useDoc } from '@docusaurus/plugin-content-docs/client';
import type { AgendaGlobalData } from '@site/src/plugins/agenda/index.mts';
import { aboutMinutes } from './words';
import styles from './styles.module.css';

function useTimes() {
  const data = usePluginData('workshop-agenda') as AgendaGlobalData;
  const { metadata } = useDoc();
  return { data, times: data.pages[metadata.source] };
}

// Capitalized: the time opens a sentence.
const About = (minutes: number) => {
  const text = aboutMinutes(minutes);
  return text.charAt(0).toUpperCase() + text.slice(1);
};

export function PageTime(): ReactNode {
  const { data, times } = useTimes();
  if (!times) return null;
  // Short enough to share the breadcrumbs' row; the agenda page says the rest (how, and what is not measured).
  const notMeasured = times.measured ? '' : ': reading and typing only, the commands’ run time is not measured yet';
  return (
    <p className={styles.time} data-page-time data-core-minutes={times.coreMinutes} data-deep-dive-minutes={times.deepDiveMinutes}>
      <Link to={`${data.route}#how-times-are-computed`} title={`Time on the workshop’s core path${notMeasured}`}>
        {About(times.coreMinutes)}{times.deepDiveMinutes > 0 && <> + {Math.max(1, Math.round(times.deepDiveMinutes))} min deep dives</>}
      </Link>
    </p>
  );
}

export function DeepDiveMark({ slug }: { slug: string }): ReactNode {
  const { times } = useTimes();
  const minutes = times?.deepDives[slug];
  return (
    <p className={styles.deepDive} data-deep-dive-mark={slug}>
      <span className={styles.label}>Go further (deep dive)</span>
      {minutes !== undefined && <> · {aboutMinutes(minutes)}</>}
      {' · '}not on the 3-hour core path: in the workshop, skip this section and come back to it later.
    </p>
  );
}
