// The workshop's site: the curriculum (../curriculum) as docs, the run reports as verification panels.
// Builds offline: no remote fonts, scripts or analytics.
import type { Config } from '@docusaurus/types';
import type * as Preset from '@docusaurus/preset-classic';
import { themes as prismThemes } from 'prism-react-renderer';
import remarkLabBlocks from './src/remark/lab-blocks.mts';
import remarkLabFigures from './src/remark/lab-figures.mts';
import remarkAgendaMarks from './src/remark/agenda-marks.mts';
import { moduleSidebar } from './src/site/sidebar.mts';
import { readMatrix } from './src/site/matrix.mts';
import { repoRoot, reportsDir } from './src/site/paths.mts';
import reportsPlugin from './src/plugins/reports/index.mts';
import agendaPlugin from './src/plugins/agenda/index.mts';
import { readableTheme } from './src/site/prism-themes.mts';

// On GitHub Actions the repository is known; elsewhere the site has no link to it.
const repositoryUrl = process.env.GITHUB_REPOSITORY ? `${process.env.GITHUB_SERVER_URL ?? 'https://github.com'}/${process.env.GITHUB_REPOSITORY}` : undefined;
const title = 'Building Highly Scalable PostgreSQL Platforms';

const config: Config = {
  title,
  tagline: 'Internals, tuning, HA automation: a workshop whose every command is verified against real clusters',
  favicon: 'img/favicon.svg',
  // GitHub Pages serves the site under /<repository>/: the workflow passes both (actions/configure-pages).
  url: process.env.SITE_URL || 'http://localhost',
  baseUrl: process.env.SITE_BASE_URL || '/',
  // Every page is <route>/index.html and every link ends in `/`: GitHub Pages answers `/x/lab` with a
  // redirect to `/x/lab/` and never serves a page at a URL its relative links would resolve wrongly from.
  trailingSlash: true,
  onBrokenLinks: 'throw',
  onBrokenAnchors: 'throw',
  onDuplicateRoutes: 'throw',
  markdown: {
    // .md is CommonMark, as the harness reads it (remark-parse), so `<18` in prose is text, not JSX.
    format: 'detect',
    mermaid: true,
    hooks: { onBrokenMarkdownLinks: 'throw', onBrokenMarkdownImages: 'throw' },
  },
  i18n: { defaultLocale: 'en', locales: ['en'] },
  future: { v4: true },
  themes: [
    '@docusaurus/theme-mermaid',
    // Search built into the site at build time (a lunr index file): works offline and on Pages, no service.
    ['@easyops-cn/docusaurus-search-local', {
      hashed: true,
      indexBlog: false,
      indexPages: false,
      docsRouteBasePath: '/',
      docsDir: '../curriculum',
      language: ['en'],
      explicitSearchResultPath: true,
      searchResultLimits: 10,
    }],
  ],
  presets: [
    [
      'classic',
      {
        docs: {
          path: '../curriculum',
          // Lessons and labs are the site's main content: /01-architecture/ and /01-architecture/lab.
          routeBasePath: '/',
          // URLs keep the module number of the folder, so /01-architecture/lab is curriculum/01-architecture/lab.md.
          numberPrefixParser: false,
          sidebarPath: './sidebars.ts',
          sidebarItemsGenerator: moduleSidebar,
          remarkPlugins: [[remarkLabBlocks, { repoRoot, matrix: readMatrix() }], remarkLabFigures, remarkAgendaMarks],
          showLastUpdateTime: false,
          ...(repositoryUrl && { editUrl: `${repositoryUrl}/edit/main/curriculum/` }),
        },
        blog: false,
        theme: { customCss: './src/css/custom.css' },
        sitemap: { lastmod: null, changefreq: null, priority: null },
      } satisfies Preset.Options,
    ],
  ],
  plugins: [
    [reportsPlugin, { repoRoot, reportsDir: reportsDir(), repositoryUrl }],
    // The agenda's times on the matrix's default major, as `workshop agenda` computes them by default.
    [agendaPlugin, { repoRoot, reportsDir: reportsDir(), major: readMatrix().defaultMajor }],
  ],
  themeConfig: {
    colorMode: { respectPrefersColorScheme: true },
    docs: { sidebar: { hideable: true } },
    navbar: {
      title: 'PostgreSQL Platforms workshop',
      logo: { alt: '', src: 'img/favicon.svg' },
      items: [
        { type: 'docSidebar', sidebarId: 'curriculum', position: 'left', label: 'Modules' },
        { to: '/agenda/', label: 'Agenda', position: 'left' },
        ...(repositoryUrl ? [{ href: repositoryUrl, label: 'GitHub', position: 'right' as const }] : []),
      ],
    },
    footer: {
      style: 'dark',
      copyright: 'Every command on a lab page is run by the workshop’s harness against real PostgreSQL clusters. Apache-2.0.',
    },
    prism: {
      theme: readableTheme(prismThemes.github),
      darkTheme: readableTheme(prismThemes.dracula),
      additionalLanguages: ['bash', 'sql', 'ini', 'docker', 'yaml', 'diff'],
    },
    mermaid: { theme: { light: 'neutral', dark: 'dark' } },
    tableOfContents: { minHeadingLevel: 2, maxHeadingLevel: 3 },
  } satisfies Preset.ThemeConfig,
};

export default config;
