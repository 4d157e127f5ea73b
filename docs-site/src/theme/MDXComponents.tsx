// The components that the remark plugins write into pages without imports: version tabs (lab-blocks),
// figures and the verification details at the end of a lab page (lab-figures), the deep dives'
// markers (agenda-marks). Tables are focusable, so
// that one wider than the page can be scrolled from the keyboard.
import type { ComponentProps, ReactNode } from 'react';
import MDXComponents from '@theme-original/MDXComponents';
import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';
import LabFigure from '@site/src/components/LabFigure';
import VerificationDetails from '@site/src/components/VerificationDetails';
import { DeepDiveMark } from '@site/src/components/PageTime';

function Table(props: ComponentProps<'table'>): ReactNode {
  return <table tabIndex={0} {...props} />;
}

export default { ...MDXComponents, table: Table, Tabs, TabItem, LabFigure, VerificationDetails, DeepDiveMark };
