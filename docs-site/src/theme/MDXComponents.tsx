// The components that the remark plugins write into pages without imports: version tabs (lab-blocks),
// figures and the verification details at the end of a lab page (lab-figures).
import MDXComponents from '@theme-original/MDXComponents';
import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';
import LabFigure from '@site/src/components/LabFigure';
import VerificationDetails from '@site/src/components/VerificationDetails';

export default { ...MDXComponents, Tabs, TabItem, LabFigure, VerificationDetails };
