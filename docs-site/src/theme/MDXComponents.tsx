// The components that the lab-blocks remark plugin writes into pages (version tabs) without imports.
import MDXComponents from '@theme-original/MDXComponents';
import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';

export default { ...MDXComponents, Tabs, TabItem };
