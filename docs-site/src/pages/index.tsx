// The landing page: what the workshop is, its modules (from the curriculum), the prerequisites and how
// to start the labs (from the README), and what the latest reports verified.
import type { ReactNode } from 'react';
import Link from '@docusaurus/Link';
import Layout from '@theme/Layout';
import Heading from '@theme/Heading';
import useDocusaurusContext from '@docusaurus/useDocusaurusContext';
import { usePluginData } from '@docusaurus/useGlobalData';
import type { WorkshopData } from '@site/src/plugins/reports/index.mts';
import type { AgendaGlobalData } from '@site/src/plugins/agenda/index.mts';
import Markdown from '@site/src/components/Markdown';
import styles from './index.module.css';

function ModuleCard({ module, data }: { module: WorkshopData['modules'][number]; data: WorkshopData }): ReactNode {
  const verification = Object.values(data.labs).find((lab) => lab.file === `curriculum/${module.folder}/lab.md`);
  return (
    <li className={styles.module}>
      <span className={styles.number}>{module.number}</span>
      <div>
        <Heading as="h3" className={styles.moduleTitle}>
          <Link to={module.lessonPath}>{module.title}</Link>
        </Heading>
        {module.description && <p className={styles.moduleText}>{module.description}</p>}
        <p className={styles.moduleLinks}>
          <Link to={module.lessonPath}>Lesson</Link>
          {module.labPath && <> · <Link to={module.labPath}>Lab</Link></>}
          {module.moreLabs.map((lab) => <span key={lab.path}> · <Link to={lab.path}>{lab.title.replace(/^Lab: /, '')}</Link></span>)}
          {module.environment && <> · environment <code>{module.environment}</code></>}
          {' · '}
          <span className={verification && verification.state !== 'not-verified' ? styles[verification.state] : styles.unverified}>
            {verification ? verification.headline : 'Not verified'}
          </span>
        </p>
      </div>
    </li>
  );
}

export default function Home(): ReactNode {
  const { siteConfig } = useDocusaurusContext();
  const data = usePluginData('workshop-reports') as WorkshopData;
  const agenda = usePluginData('workshop-agenda') as AgendaGlobalData;
  const core = Math.round(agenda.coreMinutes);
  const first = data.modules[0];
  return (
    <Layout title="Home" description={siteConfig.tagline}>
      <header className={styles.hero}>
        <div className="container">
          <Heading as="h1" className={styles.title}>{siteConfig.title}</Heading>
          <p className={styles.tagline}>Internals · Tuning · HA automation</p>
          <div className={styles.intro}><Markdown nodes={data.readme.intro.filter((node) => node.type === 'paragraph').slice(0, 1)} /></div>
          {first && (
            <Link className="button button--primary button--lg" to={first.lessonPath}>Start with module {first.number}</Link>
          )}
          {' '}
          <Link className="button button--secondary button--lg" to={agenda.route}>Agenda</Link>
        </div>
      </header>
      <main className="container margin-vert--lg">
        <section aria-labelledby="modules">
          <Heading as="h2" id="modules">Modules</Heading>
          <p>Each module is a lesson (the concepts, with diagrams) and a lab (the commands you type, with the output you should see).</p>
          <p data-agenda-summary className={styles.agendaSummary}>
            The <Link to={agenda.route}>agenda</Link> lays them out as the workshop’s 3-hour core path, section by section with
            the time each takes: the core path takes {core} min, {agenda.coreMinutes <= agenda.budgetMinutes
              ? `within its ${agenda.budgetMinutes} min budget` : `over its ${agenda.budgetMinutes} min budget`}.
          </p>
          <ol className={styles.modules}>
            {data.modules.map((module) => <ModuleCard key={module.folder} module={module} data={data} />)}
          </ol>
        </section>
        <div className="row">
          <section className="col col--6" aria-labelledby="prerequisites">
            <Heading as="h2" id="prerequisites">Prerequisites</Heading>
            <Markdown nodes={data.readme.prerequisites} repositoryUrl={data.repositoryUrl} />
          </section>
          <section className="col col--6" aria-labelledby="start">
            <Heading as="h2" id="start">Start the labs</Heading>
            <Markdown nodes={data.readme.start} repositoryUrl={data.repositoryUrl} />
          </section>
        </div>
        <section aria-labelledby="verify">
          <Heading as="h2" id="verify">Check it yourself</Heading>
          <Markdown nodes={data.readme.commands} repositoryUrl={data.repositoryUrl} />
          {data.reports.length > 0 && (
            <p className={styles.reports}>
              This site was built with the reports of {data.reports.map((report) => `PostgreSQL ${report.postgres} (${report.status}, ${report.endedAt.slice(0, 10)})`).join(', ')}.
            </p>
          )}
        </section>
      </main>
    </Layout>
  );
}
