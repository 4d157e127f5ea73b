// The breadcrumbs row of every doc page also carries the page's time on the core path (PageTime), at its
// right: near the title, and on a row that exists anyway, so a lab's first step stays on the first screen.
import type { ReactNode } from 'react';
import DocBreadcrumbs from '@theme-original/DocBreadcrumbs';
import { PageTime } from '@site/src/components/PageTime';
import styles from './styles.module.css';

export default function DocBreadcrumbsWrapper(): ReactNode {
  return (
    <div className={styles.row}>
      <DocBreadcrumbs />
      <PageTime />
    </div>
  );
}
