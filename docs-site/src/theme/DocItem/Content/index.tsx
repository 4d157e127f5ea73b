// Lab pages (curriculum/<module>/lab.md and lab-<name>.md) open with what the run reports say about the lab.
import type { ReactNode } from 'react';
import Content from '@theme-original/DocItem/Content';
import type ContentType from '@theme/DocItem/Content';
import type { WrapperProps } from '@docusaurus/types';
import { useDoc } from '@docusaurus/plugin-content-docs/client';
import VerificationPanel from '@site/src/components/VerificationPanel';

type Props = WrapperProps<typeof ContentType>;

export default function ContentWrapper(props: Props): ReactNode {
  const { metadata } = useDoc();
  const isLab = /\/lab(-[\w-]+)?\.md$/.test(metadata.source);
  return (
    <>
      {isLab && <VerificationPanel source={metadata.source} />}
      <Content {...props} />
    </>
  );
}
