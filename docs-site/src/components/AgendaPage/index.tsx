// The agenda page (/agenda/): the core path module by module with each core section's time and link, the
// breaks, the total against the budget and the slot, then the deep dives ("go further"). Its plan is made
// at build time by the agenda plugin from the harness's computation (what `workshop agenda` prints).
import type { ReactNode } from 'react';
import clsx from 'clsx';
import Link from '@docusaurus/Link';
import Layout from '@theme/Layout';
import Heading from '@theme/Heading';
import type { AgendaPlan, PlanBreak, PlanModule, PlanSection } from '@site/src/plugins/agenda/plan.mts';
import { aboutMinutes, clockText } from '@site/src/components/PageTime/words';
import styles from './styles.module.css';

// The id of the section that says how times are computed; pages link to it from their "about N min".
export const HOW_ID = 'how-times-are-computed';

function Sections({ sections }: { sections: PlanSection[] }): ReactNode {
  return (
    <ol className={styles.sections}>
      {sections.map((section) => (
        <li key={section.href} className={styles.section} data-minutes={section.minutes}>
          <Link to={section.href}>{section.title}</Link>
          <span className={styles.minutes}>{aboutMinutes(section.minutes)}</span>
        </li>
      ))}
    </ol>
  );
}

function Module({ module }: { module: PlanModule }): ReactNode {
  return (
    <li className={styles.module} data-module={module.module} data-core-minutes={module.coreMinutes}>
      <div className={styles.moduleHead}>
        <span className={styles.clock} title="minutes from the start">{clockText(module.startsAt)}</span>
        <Heading as="h3" className={styles.moduleTitle}>{module.number} · {module.title}</Heading>
        <span className={styles.moduleTotal}>{aboutMinutes(module.coreMinutes)}</span>
      </div>
      {module.summary && (
        <p className={styles.summary} data-summary={module.summary.kind}>
          <strong>{module.summary.kind === 'outcome' ? 'You leave able to: ' : 'Covers: '}</strong>{module.summary.text}
        </p>
      )}
      {module.pages.map((page) => (
        <div key={page.file} className={styles.page} data-file={page.file} data-core-minutes={page.coreMinutes}>
          <p className={styles.pageHead}>
            <Link to={page.permalink}>{page.kind === 'lesson' ? 'Lesson' : page.title}</Link>
            <span className={styles.minutes}>{aboutMinutes(page.coreMinutes)}</span>
          </p>
          {page.kind === 'lab' && !page.measured && (
            <p className={styles.note}>The commands’ own run time is not measured yet for this lab: its time counts reading and typing only.</p>
          )}
          <Sections sections={page.sections} />
        </div>
      ))}
    </li>
  );
}

function Break({ item }: { item: PlanBreak }): ReactNode {
  return (
    <li className={clsx(styles.module, styles.break)} data-break-minutes={item.minutes}>
      <div className={styles.moduleHead}>
        <span className={styles.clock}>{clockText(item.startsAt)}</span>
        <span className={styles.moduleTitle}>Break, {item.minutes} min</span>
        <span className={styles.moduleTotal}>after {aboutMinutes(item.afterCoreMinutes).replace('about ', '')} of content</span>
      </div>
    </li>
  );
}

function Totals({ plan }: { plan: AgendaPlan }): ReactNode {
  const core = Math.round(plan.coreMinutes);
  const withBreaks = Math.round(plan.coreMinutes + plan.breakMinutes);
  const fits = plan.coreMinutes <= plan.budgetMinutes;
  return (
    <div className={clsx(styles.totals, fits ? styles.fits : styles.over)} data-core-minutes={plan.coreMinutes} data-fits={fits}>
      <p className={styles.totalLine}>
        {fits
          ? <>Core path: {core} min, within its {plan.budgetMinutes} min budget.</>
          : <>Core path: {core} min, over its {plan.budgetMinutes} min budget by {core - plan.budgetMinutes} min.</>}
      </p>
      <p>
        With {plan.breakMinutes > 0 ? `its breaks (${plan.breakMinutes} min)` : 'no break'}, the session takes {withBreaks} min of the {plan.slotMinutes} min
        slot{withBreaks <= plan.slotMinutes
          ? `, leaving ${plan.slotMinutes - withBreaks} min for questions.`
          : `: ${withBreaks - plan.slotMinutes} min more than the slot. Until more sections become deep dives, this agenda does not fit three hours.`}
      </p>
    </div>
  );
}

export default function AgendaPage({ plan }: { plan: AgendaPlan }): ReactNode {
  const modules = plan.items.flatMap((item) => (item.type === 'module' ? [item.module] : []));
  const byModule = modules.filter((module) => plan.deepDives.some((dive) => dive.module === module.module));
  return (
    <Layout title="Agenda" description="The workshop's 3-hour core path: every lesson and lab section on it, with its time, the breaks, and the deep dives to go further.">
      <main className={clsx('container margin-vert--lg', styles.agenda)}>
        <Heading as="h1">Agenda: the 3-hour core path</Heading>
        <p>
          The workshop is a {plan.slotMinutes}-minute session. Its core path covers all {modules.length} topics in order, lesson then lab; every other
          section is a deep dive, listed under <Link to="#go-further">Go further</Link>, to read and do after the session.
          A deep dive may sit in the middle of a lab: skip it and go on with the next core section. Each lab’s core path
          is verified by typing it alone, its deep dives skipped, so no core section needs what a deep dive made.
        </p>
        <Totals plan={plan} />
        <section aria-labelledby="core-path">
          <Heading as="h2" id="core-path">The core path</Heading>
          <ol className={styles.items}>
            {plan.items.map((item, index) => item.type === 'module'
              ? <Module key={item.module.module} module={item.module} />
              : <Break key={`break-${index}`} item={item.break} />)}
          </ol>
        </section>
        <section aria-labelledby="go-further" data-deep-dive-minutes={plan.deepDiveMinutes}>
          <Heading as="h2" id="go-further">Go further: the deep dives</Heading>
          {plan.deepDives.length === 0
            ? <p>No section is marked as a deep dive yet: every section of every lesson and lab is on the core path above.</p>
            : (
              <>
                <p>{plan.deepDives.length} sections, {aboutMinutes(plan.deepDiveMinutes)} in all, are not on the core path. Each is marked “Go further” on its page.</p>
                {byModule.map((module) => (
                  <div key={module.module} className={styles.page} data-module={module.module}>
                    <p className={styles.pageHead}>{module.number} · {module.title}</p>
                    <ol className={styles.sections}>
                      {plan.deepDives.filter((dive) => dive.module === module.module).map((dive) => (
                        <li key={dive.href} className={styles.section} data-minutes={dive.minutes} data-deep-dive>
                          <Link to={dive.href}>{dive.pageTitle}: {dive.title}</Link>
                          <span className={styles.minutes}>{aboutMinutes(dive.minutes)}</span>
                        </li>
                      ))}
                    </ol>
                  </div>
                ))}
              </>
            )}
        </section>
        <section aria-labelledby={HOW_ID}>
          <Heading as="h2" id={HOW_ID}>How times are computed</Heading>
          <p>
            A section’s time is what an attendee spends on it alone: its prose read at {plan.wordsPerMinute} words a minute, {plan.secondsPerCommand} s
            for each command typed and its output read, and the time its commands took to run in the latest recorded run on
            PostgreSQL {plan.major}. Background commands (a load running while you type) do not add to it. Times shown are rounded;
            the totals add the unrounded times. Breaks come at a module boundary once about {plan.breakAfterMinutes.from}–{plan.breakAfterMinutes.to} minutes of content have passed since the start or the last break.
          </p>
        </section>
      </main>
    </Layout>
  );
}
