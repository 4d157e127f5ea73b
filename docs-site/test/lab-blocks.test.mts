// The lab-blocks remark plugin on a fixture lab: titles, expected output, version tabs, file= blocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import remarkFrontmatter from 'remark-frontmatter';
import { VFile } from 'vfile';
import YAML from 'yaml';
import type { Code, Root } from 'mdast';
import remarkLabBlocks, { CHECK_CLASS, EXPECTED_CLASS, FILE_CLASS, WILDCARDS_CLASS } from '../src/remark/lab-blocks.mts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const matrix = { defaultMajor: 18, majors: [15, 17, 18] };

interface Jsx { type: 'mdxJsxFlowElement'; name: string; attributes: { name: string; value: string }[]; children: Node[] }
type Node = Code | Jsx | { type: string; children?: Node[] };

async function render(markdown: string, file = path.join(here, 'fixtures/lab-blocks/lab.md')): Promise<Node[]> {
  const tree = unified().use(remarkParse).use(remarkFrontmatter).parse(markdown);
  const front = tree.children.find((node) => node.type === 'yaml');
  const vfile = new VFile({ path: file, value: markdown, data: { frontMatter: front ? YAML.parse(front.value) : {} } });
  const result = await unified().use(remarkLabBlocks, { repoRoot, matrix }).run(tree, vfile) as Root;
  return result.children.filter((node) => node.type !== 'yaml');
}

const attribute = (node: Jsx, name: string) => node.attributes.find((a) => a.name === name)?.value;
const titleOf = (node: Node) => /title="([^"]*)"/.exec((node as Code).meta ?? '')?.[1];
const fixture = readFileSync(path.join(here, 'fixtures/lab-blocks/lab.md'), 'utf8');

test('runnable steps are numbered in page order and, in a lab with several terminals, name the terminal in words', async () => {
  const nodes = await render(fixture);
  assert.equal(titleOf(nodes[0]!), 'Step 1 · in terminal 1');
  assert.equal((nodes[0] as Code).meta, 'title="Step 1 · in terminal 1"', 'the lab options are not left in the meta');
  const psql = nodes.find((node) => (node as Code).value === 'select 1;');
  assert.equal(titleOf(psql!), 'Step 3 · type into the program running in terminal 2 — b');
});

test('a lab with one terminal does not name it; background steps and exit codes are said in words', async () => {
  const nodes = await render('```bash step=load background\npgbench\n```\n\n```bash step=fails exit=2\nfalse\n```\n');
  assert.equal(titleOf(nodes[0]!), 'Step 1 · keeps running while you go on');
  assert.equal(titleOf(nodes[1]!), 'Step 2 · ends with exit code 2, as it should');
});

test('wildcards of expected output are explained once, under the first expected output that uses them', async () => {
  const markdown = '```bash step=a\necho a\n```\n\n```text expect=a\na\n```\n\n```bash step=b\necho b\n```\n\n'
    + '```text expect=b\nb ...\n```\n\n```bash step=c\necho c\n```\n\n```text expect=c\npg[123] (re)\n```\n';
  const nodes = await render(markdown);
  const notes = nodes.map((node, index) => [node, index] as const).filter(([node]) => node.type === 'mdxJsxFlowElement' && attribute(node as Jsx, 'className') === WILDCARDS_CLASS);
  assert.equal(notes.length, 1, 'one note per page');
  assert.equal(notes[0]![1], 4, 'right after the expected output of step b, the first with a wildcard');
  assert.equal(titleOf(((nodes[1] as Jsx).children[0] as Code)), 'What you should see after step 1');
});

test('pg= variants of one expectation become version tabs, one per major, synced by the pg group', async () => {
  const tabs = (await render(fixture))[1] as Jsx;
  assert.equal(tabs.name, 'Tabs');
  assert.equal(attribute(tabs, 'groupId'), 'pg');
  assert.equal(attribute(tabs, 'defaultValue'), '18');
  assert.deepEqual(tabs.children.map((item) => attribute(item as Jsx, 'label')), ['PostgreSQL 15', 'PostgreSQL 17', 'PostgreSQL 18']);
  const shown = tabs.children.map((item) => {
    const wrapper = (item as Jsx).children[0] as Jsx;
    assert.equal(attribute(wrapper, 'className'), EXPECTED_CLASS);
    const code = wrapper.children[0] as Code;
    assert.equal(titleOf(code), 'What you should see', 'the tab says which version; the block sits under its step');
    return code.value;
  });
  assert.deepEqual(shown, ['fifteen', 'seventeen or later', 'seventeen or later']);
});

test('pg= variants of one step become version tabs too', async () => {
  const tabs = (await render(fixture))[2] as Jsx;
  assert.equal(tabs.name, 'Tabs');
  assert.deepEqual(tabs.children.map((item) => ((item as Jsx).children[0] as Code).value), ['echo bgwriter', 'echo checkpointer', 'echo checkpointer']);
});

test('a step for some majors only says so in its title', async () => {
  const nodes = await render(fixture);
  assert.equal(titleOf(nodes.find((node) => (node as Code).value === 'echo eighteen')!), 'Step 4 · in terminal 1 · PostgreSQL 18 only');
});

test('norun blocks give their reason, file= blocks show the file from disk, other blocks are left alone', async () => {
  const nodes = await render(fixture);
  const norun = nodes.find((node) => (node as Code).value === 'pg_ctl promote') as Code;
  assert.equal(titleOf(norun), 'Not run here: your own server');
  const file = nodes.find((node) => node.type === 'mdxJsxFlowElement' && (node as Jsx).name === 'details') as Jsx;
  assert.equal(attribute(file, 'className'), FILE_CLASS, 'a file is collapsed until the reader opens it');
  const shown = file.children.find((node) => (node as Code).lang === 'yaml') as Code;
  assert.equal(shown.value, 'shown: from disk');
  assert.equal(titleOf(shown), 'docs-site/test/fixtures/lab-blocks/shown.yaml');
  const plain = nodes.at(-1) as Code;
  assert.equal(plain.value, 'echo plain block');
  assert.equal(plain.meta, null);
});

test('a file= block whose file does not exist fails the build with its position', async () => {
  await assert.rejects(render('```yaml file=environments/nowhere.yml\n```\n'), /lab\.md:1:1: `file=environments\/nowhere\.yml` does not exist/);
});

test('variants chosen by Patroni\'s version name it in their tabs, and a step for some Patroni versions in its title', async () => {
  const markdown = [
    '```bash step=role', 'curl -s pg1:8008/patroni | jq -r .role', '```', '',
    '```text expect=role patroni="<4"', 'master', '```', '',
    '```text expect=role patroni=">=4"', 'primary', '```', '',
    '```bash step=ttl-floor patroni=">=4"', 'grep ttl patroni.log', '```', '',
  ].join('\n');
  const nodes = await render(markdown);
  const tabs = nodes[1] as Jsx;
  assert.equal(tabs.name, 'Tabs');
  assert.deepEqual(tabs.children.map((item) => attribute(item as Jsx, 'label')), ['PostgreSQL 15 · Patroni 3.0', 'PostgreSQL 17 · Patroni 4.0', 'PostgreSQL 18 · Patroni 4.1']);
  // The page's second runnable step, numbered as the reader counts them.
  assert.equal(titleOf(nodes[2]!), 'Step 2 · Patroni >=4 (PostgreSQL 17 and 18) only');
});

test('a checkpoint is a "Check your work" box: what holds, the check command of the lab, the read-only command; its expected output says what the check looks for', async () => {
  const markdown = '```bash step=up\ndocker compose up\n```\n\n'
    + '```bash check=replicas title="two replicas stream from pg1"\ndocker compose exec pg1 psql -XAtc "select count(*) from pg_stat_replication"\n```\n\n'
    + '```text expect=replicas\n2\n```\n';
  const nodes = await render(markdown, path.join(repoRoot, 'curriculum/04-replication/lab.md'));
  const box = nodes[1] as Jsx;
  assert.equal(box.name, 'div');
  assert.equal(attribute(box, 'className'), CHECK_CLASS);
  const text = JSON.stringify(box.children[0]);
  assert.match(text, /Check your work/);
  assert.match(text, /two replicas stream from pg1/);
  const [command, checked] = box.children.filter((child) => child.type === 'code') as Code[];
  assert.equal(command!.value, 'npx workshop check 04-replication');
  assert.equal(checked!.value, 'docker compose exec pg1 psql -XAtc "select count(*) from pg_stat_replication"');
  assert.equal(checked!.meta, 'title="What is checked (read-only)"', 'the check options are not left in the meta');
  const expected = nodes[2] as Jsx;
  assert.equal(attribute(expected, 'className'), EXPECTED_CLASS);
  assert.equal(titleOf(expected.children[0]!), 'What the check looks for');
});

test('on a lab with core sections and deep dives, the check box says how to check the core path only; not on a lab that is all deep dive', async () => {
  const body = '## Core\n\n```bash step=up\ntrue\n```\n\n```bash check=ok title="ok"\ntrue\n```\n\n```text expect=ok\n```\n\n## Deeper\n\n```bash step=more\ntrue\n```\n';
  const mixed = await render(`---\ndeep_dives: [deeper]\n---\n\n${body}`, path.join(repoRoot, 'curriculum/04-replication/lab.md'));
  const box = mixed.find((node) => (node as Jsx).name === 'div' && attribute(node as Jsx, 'className') === CHECK_CLASS) as Jsx;
  assert.match(JSON.stringify(box.children), /On the 3-hour core path, with the deep dives skipped, add .*--core-path/);
  const allDeep = await render(`---\ndeep_dives: [core, deeper]\n---\n\n${body}`, path.join(repoRoot, 'curriculum/04-replication/lab.md'));
  const plainBox = allDeep.find((node) => (node as Jsx).name === 'div' && attribute(node as Jsx, 'className') === CHECK_CLASS) as Jsx;
  assert.doesNotMatch(JSON.stringify(plainBox.children), /--core-path/);
});

test('the check command names a lab-<name>.md page by its lab id', async () => {
  const nodes = await render('```bash step=up\ntrue\n```\n\n```bash check=ok title="ok"\ntrue\n```\n\n```text expect=ok\n```\n', path.join(repoRoot, 'curriculum/06-patroni/lab-guardrails.md'));
  const command = ((nodes[1] as Jsx).children.filter((child) => child.type === 'code') as Code[])[0]!;
  assert.equal(command.value, 'npx workshop check 06-patroni-guardrails');
});
