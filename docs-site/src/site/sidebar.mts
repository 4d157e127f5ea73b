// The sidebar: one category per module folder (`NN-topic`), labelled with its lesson's title and
// ordered by its number; inside it the lesson and the lab, ordered by their `sidebar_position`.
import type { PluginOptions } from '@docusaurus/plugin-content-docs';

type SidebarItemsGeneratorOption = PluginOptions['sidebarItemsGenerator'];

const MODULE_FOLDER = /^(\d+)-/;

export const moduleSidebar: SidebarItemsGeneratorOption = async (args) => {
  const categoriesMetadata = { ...args.categoriesMetadata };
  for (const doc of args.docs) {
    const folder = doc.sourceDirName;
    const number = MODULE_FOLDER.exec(folder)?.[1];
    if (!number || folder.includes('/') || doc.source.split('/').at(-1) !== 'index.md') continue;
    // A module's _category_.json, if one is ever added, wins over what is derived here.
    categoriesMetadata[folder] = { label: `${number} · ${doc.title}`, position: Number(number), collapsed: false, ...categoriesMetadata[folder] };
  }
  // The lesson (index.md) stays an item of its own next to the lab instead of becoming the category's link.
  return args.defaultSidebarItemsGenerator({ ...args, categoriesMetadata, isCategoryIndex: () => false });
};
