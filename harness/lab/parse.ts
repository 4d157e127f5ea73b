// Reads a lab or lesson page with remark into the typed model, collecting every problem with its position.
import { readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import remarkFrontmatter from 'remark-frontmatter';
import { visit } from 'unist-util-visit';
import YAML from 'yaml';
import type { Code, Yaml } from 'mdast';
import { MajorRange, TOOLS, knownMajors } from './majors.ts';
import { KEYS, type Checkpoint, type Expectation, type FileBlock, type FrontMatter, type KeyName, type KeyPress, type LabDocument, type Problem, type SourcePosition, type Step } from './model.ts';
import { parseInfoOptions, type InfoOption } from './info-string.ts';
import { environmentsDir, relativeToRepo, repoRoot } from '../paths.ts';

export const SHELL_LANGUAGES = ['bash', 'sh', 'shell', 'console', 'zsh'];
// Languages typed into a program that an `interactive` step started (psql).
export const PROGRAM_LANGUAGES = ['sql', 'psql'];
// A key pressed during a step, and where the page ends a background step.
const STEP_END_OPTIONS = ['key', 'key-after', 'key-on', 'stops', 'waits'];
// A checkpoint's options: its id and, optionally, the later checkpoint from which it no longer holds.
const CHECK_OPTIONS = ['check', 'until'];
export const KNOWN_OPTIONS = ['step', 'terminal', 'background', 'interactive', 'timeout', 'exit', 'pg', 'patroni', 'norun', 'unchecked', 'expect', 'file', 'title', 'showLineNumbers', ...STEP_END_OPTIONS, ...CHECK_OPTIONS];
const STEP_ID = /^[a-z0-9][a-z0-9-]*$/;
const DEFAULT_TERMINAL = 'main';

export function parseLabFile(file: string): LabDocument {
  return parseLab(readFileSync(file, 'utf8'), file);
}

// A module's labs: `lab.md`, and further labs as `lab-<name>.md` (id `<module>-<name>`).
export const LAB_FILE = /^lab(?:-([a-z0-9]+(?:-[a-z0-9]+)*))?\.md$/;

// The id of the lab in `file`: the module folder, plus `-<name>` for `lab-<name>.md`.
export function labIdOf(file: string): string {
  const suffix = LAB_FILE.exec(path.basename(file))?.[1];
  const module = path.basename(path.dirname(file));
  return suffix ? `${module}-${suffix}` : module;
}

// Parses Markdown text; `file` is used for positions and to tell a lab (lab.md, lab-<name>.md) from a lesson.
export function parseLab(markdown: string, file: string): LabDocument {
  const shown = relativeToRepo(file);
  const lines = markdown.split('\n');
  const problems: Problem[] = [];
  const at = (line: number, column: number): SourcePosition => ({ file: shown, line, column });
  const report = (position: SourcePosition, message: string) => problems.push({ position, message });
  const kind = LAB_FILE.test(path.basename(file)) ? 'lab' : 'lesson';

  const tree = unified().use(remarkParse).use(remarkFrontmatter, ['yaml']).parse(markdown);
  const frontNode = tree.children.find((node): node is Yaml => node.type === 'yaml');
  const frontMatter = readFrontMatter(frontNode, file, kind, at, report);

  const steps: Step[] = [];
  const expectations: Expectation[] = [];
  const checkpoints: Checkpoint[] = [];
  const files: FileBlock[] = [];

  visit(tree, 'code', (node: Code) => {
    const start = node.position!.start;
    const fenceLine = lines[start.line - 1] ?? '';
    const lang = node.lang ?? '';
    const meta = node.meta ?? '';
    // Column where the meta begins within the fence line, so each option error points at the option.
    const metaColumn = meta ? fenceLine.indexOf(meta, fenceLine.indexOf(lang) + lang.length) + 1 : start.column;
    const parsed = parseInfoOptions(meta);
    if (!Array.isArray(parsed)) {
      report(at(start.line, metaColumn + parsed.offset), parsed.error);
      return;
    }
    const options = new Map<string, InfoOption>();
    for (const option of parsed) {
      const where = at(start.line, metaColumn + option.offset);
      if (!KNOWN_OPTIONS.includes(option.key)) {
        report(where, `Unexpected block option \`${option.key}\`, expected one of ${KNOWN_OPTIONS.map((k) => `\`${k}\``).join(', ')}`);
        continue;
      }
      if (options.has(option.key)) {
        report(where, `Option \`${option.key}\` given twice on one block`);
        continue;
      }
      options.set(option.key, option);
    }
    const where = (key: string) => at(start.line, metaColumn + (options.get(key)?.offset ?? 0));
    const codeLine = start.line + 1;
    const isShell = SHELL_LANGUAGES.includes(lang);

    // `pg=` (PostgreSQL majors) or `patroni=` (the Patroni versions the table ships): the majors a block applies to.
    const pgOption = options.get('pg');
    const toolOption = TOOLS.find((tool) => options.has(tool));
    let pg: MajorRange | undefined;
    if (pgOption && toolOption) report(where(toolOption), `A block takes \`pg=\` or \`${toolOption}=\`, not both: keep the one its output depends on`);
    else if (pgOption || toolOption) {
      const key = toolOption ?? 'pg';
      const text = options.get(key)!.value ?? '';
      const range = toolOption ? MajorRange.forTool(toolOption, text) : MajorRange.parse(text);
      if (typeof range === 'string') report(where(key), `Invalid \`${key}\` range: ${range}`);
      else if (!knownMajors().some((major) => range.includes(major))) {
        report(where(key), `\`${key}=${range.text}\` matches none of the version table's majors (${knownMajors().join(', ')})`);
      } else pg = range;
    }

    const fileOption = options.get('file');
    if (fileOption) {
      const target = fileOption.value ?? '';
      const absolute = path.resolve(repoRoot, target);
      if (!target) report(where('file'), 'Missing path in `file=`: expected a repository path such as `file=environments/patroni/patroni.yml`');
      else if (!absolute.startsWith(repoRoot + path.sep) || !existsSync(absolute) || !statSync(absolute).isFile()) {
        report(where('file'), `\`file=${target}\` does not exist: expected a file path relative to the repository root`);
      } else {
        const onDisk = readFileSync(absolute, 'utf8').replace(/\n$/, '');
        if (node.value.trim() !== '' && node.value !== onDisk) {
          report(at(codeLine, 1), `The block's text differs from \`${target}\` on disk: leave the block empty, the page shows the file itself`);
        }
        files.push({ path: target, lang, code: onDisk, position: at(start.line, start.column) });
      }
    }

    const expectOption = options.get('expect');
    if (expectOption) {
      if (!expectOption.value) report(where('expect'), 'Missing step id in `expect=`: expected `expect=<step id>`');
      else {
        for (const conflicting of ['step', 'norun', 'file']) {
          if (options.has(conflicting)) report(where(conflicting), `An expectation block cannot also carry \`${conflicting}\``);
        }
        expectations.push({
          step: expectOption.value, pg, lines: splitOutput(node.value), position: at(start.line, start.column), codeLine,
        });
      }
      return;
    }

    const checkOption = options.get('check');
    if (checkOption) {
      const id = checkOption.value ?? '';
      if (!id) {
        report(where('check'), 'Missing checkpoint id: expected `check=<id>` (lowercase letters, digits and dashes)');
        return;
      }
      if (!STEP_ID.test(id)) report(where('check'), `Invalid checkpoint id \`${id}\`: expected lowercase letters, digits and dashes`);
      if (kind === 'lesson') report(where('check'), `Checkpoint \`${id}\` is in a lesson: checkpoints belong in the module's lab.md (or lab-<name>.md), after the step they check`);
      if (!isShell) report(at(start.line, start.column), `Checkpoint \`${id}\` has language \`${lang || '(none)'}\`: expected one of ${SHELL_LANGUAGES.join(', ')} (it runs in a shell of its own)`);
      // A checkpoint runs on its own, never typed into the attendee's terminals: the step options do not apply.
      for (const conflicting of ['step', 'norun', 'file', 'terminal', 'background', 'interactive', 'exit', 'unchecked', ...STEP_END_OPTIONS]) {
        if (options.has(conflicting)) report(where(conflicting), `A checkpoint cannot carry \`${conflicting}\`: it is a read-only command run on its own, after the step before it`);
      }
      const title = options.get('title')?.value?.trim();
      if (!title) report(where('check'), `Checkpoint \`${id}\` has no title: expected \`title="<what holds once the step before it ran>"\`, as the attendee reads it`);
      const until = options.get('until');
      if (until && (!until.value || !STEP_ID.test(until.value))) report(where('until'), `Invalid \`until\`: expected the id of a later checkpoint, found \`${until.value ?? ''}\``);
      const timeout = numberOption(options.get('timeout'), 'timeout', (n) => n > 0, 'a positive number of seconds', where, report);
      const writes = writingCommand(node.value);
      if (writes) report(at(codeLine + writes.line, 1), `Checkpoint \`${id}\` changes the environment (\`${writes.text}\`): a checkpoint only reads (a query, a status command), since \`workshop check\` runs it on an attendee's own environment`);
      checkpoints.push({
        id, title: title ?? '', lang, code: node.value,
        ...(pg && { pg }),
        ...(timeout !== undefined && { timeoutSeconds: timeout }),
        ...(until?.value && STEP_ID.test(until.value) && { until: until.value }),
        position: at(start.line, start.column), codeLine,
      });
      return;
    }

    const stepOption = options.get('step');
    const norun = options.get('norun');
    if (stepOption) {
      const id = stepOption.value ?? '';
      if (!id) {
        report(where('step'), 'Missing step id: expected `step=<id>` (lowercase letters, digits and dashes)');
        return;
      }
      if (!STEP_ID.test(id)) report(where('step'), `Invalid step id \`${id}\`: expected lowercase letters, digits and dashes`);
      if (norun) report(where('norun'), `Step \`${id}\` is both runnable and \`norun\`: keep one`);
      if (options.has('until')) report(where('until'), 'Option `until` applies to checkpoints only (`check=<id>`): a step runs once, where it stands');
      if (kind === 'lesson') report(where('step'), `Step \`${id}\` is in a lesson: runnable steps belong in the module's lab.md (or lab-<name>.md)`);
      if (!isShell && !PROGRAM_LANGUAGES.includes(lang)) {
        report(at(start.line, start.column), `Step \`${id}\` has language \`${lang || '(none)'}\`: expected one of ${[...SHELL_LANGUAGES, ...PROGRAM_LANGUAGES].join(', ')}`);
      }
      const timeout = numberOption(options.get('timeout'), 'timeout', (n) => n > 0, 'a positive number of seconds', where, report);
      const exit = numberOption(options.get('exit'), 'exit', (n) => Number.isInteger(n) && n >= 0 && n <= 255, 'an exit code from 0 to 255', where, report);
      const background = flag(options.get('background'), 'background', where, report);
      const interactive = flag(options.get('interactive'), 'interactive', where, report);
      if (background && interactive) report(where('interactive'), `Step \`${id}\` cannot be both \`background\` and \`interactive\``);
      const unchecked = options.get('unchecked');
      if (unchecked && !unchecked.value?.trim()) report(where('unchecked'), 'Missing reason: expected `unchecked="why this output is not checked on the majors without an expectation"`');
      const terminal = options.get('terminal')?.value ?? DEFAULT_TERMINAL;
      if (!STEP_ID.test(terminal)) report(where('terminal'), `Invalid terminal name \`${terminal}\`: expected lowercase letters, digits and dashes`);
      const key = keyPress(options, where, report);
      if (key && background) report(where('key'), `Step \`${id}\` is \`background\`: a key goes to a command in the foreground; end a background step with \`stops=${id}\` on a later step`);
      const ends: Partial<Record<'stops' | 'waits', string>> = {};
      for (const option of ['stops', 'waits'] as const) {
        const value = options.get(option)?.value;
        if (!options.has(option)) continue;
        if (!value || !STEP_ID.test(value)) report(where(option), `Invalid \`${option}\`: expected the id of an earlier background step, found \`${value ?? ''}\``);
        else ends[option] = value;
      }
      steps.push({
        id, lang, code: node.value, terminal, background, interactive,
        ...(timeout !== undefined && { timeoutSeconds: timeout }),
        exitCode: exit ?? 0,
        ...(key && { key }),
        ...ends,
        ...(pg && { pg }),
        ...(unchecked?.value?.trim() && { unchecked: unchecked.value.trim() }),
        position: at(start.line, start.column), codeLine,
      });
      return;
    }
    if (options.has('until')) report(where('until'), 'Option `until` applies to checkpoints only: add `check=<id>` or remove it');
    for (const stepOnly of ['terminal', 'background', 'interactive', 'timeout', 'exit', 'unchecked', ...STEP_END_OPTIONS]) {
      if (options.has(stepOnly)) report(where(stepOnly), `Option \`${stepOnly}\` applies to runnable steps only: add \`step=<id>\` or remove it`);
    }
    if (norun !== undefined && !norun.value?.trim()) {
      report(where('norun'), 'Missing reason: expected `norun="why this block is not run"`');
    } else if (isShell && !norun && !fileOption) {
      report(at(start.line, start.column), `Shell block is neither runnable nor \`norun\`: add \`step=<id>\`, or \`norun="<reason>"\` for commands that are not run`);
    }
  });

  checkSteps(steps, expectations, checkpoints, frontMatter?.majors ?? knownMajors(), report);
  checkCheckpoints(checkpoints, steps, expectations, frontMatter?.majors ?? knownMajors(), report);
  return { file: shown, ...(frontMatter && { frontMatter }), steps, expectations, checkpoints, files, problems };
}

// Cross-block rules: unique ids (variants only with disjoint `pg`), expectations naming a step placed
// after it, every major of a checked step covered by an expectation, programs.
function checkSteps(steps: Step[], expectations: Expectation[], checkpoints: Checkpoint[], labMajors: number[], report: (p: SourcePosition, m: string) => void) {
  const majors = knownMajors();
  const overlap = (a?: MajorRange, b?: MajorRange) => majors.find((m) => (!a || a.includes(m)) && (!b || b.includes(m)));
  steps.forEach((step, index) => {
    for (const earlier of steps.slice(0, index)) {
      if (earlier.id !== step.id) continue;
      const major = overlap(earlier.pg, step.pg);
      if (major !== undefined) {
        report(step.position, `Duplicate step id \`${step.id}\` (first at line ${earlier.position.line}): ids are unique, or variants carry \`pg=\` ranges that do not overlap (both apply to ${major})`);
      }
    }
    for (const option of ['stops', 'waits'] as const) {
      const target = step[option];
      if (target === undefined) continue;
      const ended = steps.slice(0, index).find((s) => s.id === target && s.background && (!s.pg || !step.pg || overlap(s.pg, step.pg) !== undefined));
      if (!ended) report(step.position, `Step \`${step.id}\` has \`${option}=${target}\`, but no earlier \`background\` step has \`step=${target}\``);
      // A second `waits=` reads "once it has ended" and waits for nothing when it has: a core clean-up
      // waits for a load that a deep dive before it may already have waited for. A second stop is refused.
      else if (option === 'stops' && steps.slice(0, index).some((s) => s !== ended && (s.stops === target || s.waits === target) && overlap(s.pg, step.pg) !== undefined)) {
        report(step.position, `Background step \`${target}\` is ended twice: only one step may carry \`stops=${target}\`, and no step may stop it after another has ended it (\`waits=${target}\` may follow: it waits for nothing once it has ended)`);
      }
    }
    if (step.stops !== undefined && step.waits !== undefined && step.stops === step.waits) {
      report(step.position, `Step \`${step.id}\` both stops and waits for \`${step.stops}\`: keep one`);
    }
    if (PROGRAM_LANGUAGES.includes(step.lang)) {
      const opener = steps.slice(0, index).reverse().find((s) => s.terminal === step.terminal && s.interactive);
      if (!opener) report(step.position, `Step \`${step.id}\` is ${step.lang} typed into terminal \`${step.terminal}\`, but no earlier \`interactive\` step starts a program (psql) there`);
    }
    // A step whose output is checked on some majors must be checked on each major it runs on: an
    // expectation for 15 and 17 alone would let 18 pass on its exit code whatever it printed.
    const own = expectations.filter((e) => e.step === step.id && overlap(e.pg, step.pg) !== undefined);
    if (own.length > 0 && !step.unchecked) {
      const runsOn = labMajors.filter((m) => !step.pg || step.pg.includes(m));
      const uncovered = runsOn.filter((m) => !own.some((e) => !e.pg || e.pg.includes(m)));
      if (uncovered.length > 0) {
        report(step.position, `Step \`${step.id}\` has an expectation (line ${own.map((e) => e.position.line).join(', ')}) but none for PostgreSQL ${uncovered.join(', ')}: ` +
          `add an \`expect=${step.id} pg=…\` block for ${uncovered.join(', ')}, or mark the step \`unchecked="<why its output is not checked there>"\``);
      }
    }
  });
  expectations.forEach((expectation, index) => {
    // An expectation shows the output of a step or of a checkpoint (they share one set of ids).
    const targets: { pg?: MajorRange; position: SourcePosition }[] = [...steps, ...checkpoints].filter((s) => s.id === expectation.step);
    const kindOf = checkpoints.some((c) => c.id === expectation.step) ? 'checkpoint' : 'step';
    if (targets.length === 0) {
      report(expectation.position, `Expectation names no step: \`expect=${expectation.step}\` but no block has \`step=${expectation.step}\` (or \`check=${expectation.step}\`)`);
      return;
    }
    // The expected output follows the command it shows, as a reader sees it.
    const matching = targets.filter((s) => overlap(s.pg, expectation.pg) !== undefined);
    const before = matching.filter((s) => s.position.line < expectation.position.line);
    if (matching.length > 0 && before.length === 0) {
      report(expectation.position, `Expectation for ${kindOf} \`${expectation.step}\` comes before its ${kindOf} (line ${matching[0]!.position.line}): place the \`expect=\` block after the ${kindOf}'s block`);
    }
    for (const earlier of expectations.slice(0, index)) {
      if (earlier.step !== expectation.step) continue;
      const major = overlap(earlier.pg, expectation.pg);
      if (major !== undefined) {
        report(expectation.position, `Second expectation for step \`${expectation.step}\` (first at line ${earlier.position.line}) applies to ${major} too: give each a \`pg=\` range that does not overlap`);
      }
    }
  });
}

// Checkpoints: ids unique among steps and checkpoints, each after a step and with an expectation on
// every major it applies to, `until` naming a later checkpoint, none right after a background step.
function checkCheckpoints(checkpoints: Checkpoint[], steps: Step[], expectations: Expectation[], labMajors: number[], report: (p: SourcePosition, m: string) => void) {
  const majors = knownMajors();
  const overlap = (a?: MajorRange, b?: MajorRange) => majors.find((m) => (!a || a.includes(m)) && (!b || b.includes(m)));
  checkpoints.forEach((checkpoint, index) => {
    const step = steps.find((s) => s.id === checkpoint.id);
    if (step) report(checkpoint.position, `Checkpoint id \`${checkpoint.id}\` is also a step's (line ${step.position.line}): steps and checkpoints share one set of ids, and \`expect=\` names one of them`);
    for (const earlier of checkpoints.slice(0, index)) {
      if (earlier.id !== checkpoint.id) continue;
      const major = overlap(earlier.pg, checkpoint.pg);
      if (major !== undefined) report(checkpoint.position, `Duplicate checkpoint id \`${checkpoint.id}\` (first at line ${earlier.position.line}): ids are unique, or variants carry \`pg=\` ranges that do not overlap (both apply to ${major})`);
    }
    const appliesTo = labMajors.filter((m) => !checkpoint.pg || checkpoint.pg.includes(m));
    // The step a checkpoint checks is the last one before it on each major.
    const after = new Map(appliesTo.map((m) => [m, steps.filter((s) => s.position.line < checkpoint.position.line && (!s.pg || s.pg.includes(m))).at(-1)]));
    const none = appliesTo.filter((m) => !after.get(m));
    if (none.length > 0) {
      report(checkpoint.position, `Checkpoint \`${checkpoint.id}\` follows no step${none.length < appliesTo.length ? ` on PostgreSQL ${none.join(', ')}` : ''}: place it after the step whose result it checks`);
    }
    const background = [...new Set([...after.values()].filter((s) => s?.background))];
    for (const s of background) {
      report(checkpoint.position, `Checkpoint \`${checkpoint.id}\` follows background step \`${s!.id}\` (line ${s!.position.line}), whose result is not there yet: place it after the step that ends it (\`stops=${s!.id}\` or \`waits=${s!.id}\`)`);
    }
    const own = expectations.filter((e) => e.step === checkpoint.id && overlap(e.pg, checkpoint.pg) !== undefined);
    const uncovered = appliesTo.filter((m) => !own.some((e) => !e.pg || e.pg.includes(m)));
    if (uncovered.length > 0) {
      report(checkpoint.position, own.length === 0
        ? `Checkpoint \`${checkpoint.id}\` has no expectation: add an \`expect=${checkpoint.id}\` block after it with the output that says it holds`
        : `Checkpoint \`${checkpoint.id}\` has an expectation (line ${own.map((e) => e.position.line).join(', ')}) but none for PostgreSQL ${uncovered.join(', ')}: add an \`expect=${checkpoint.id} pg=…\` block for ${uncovered.join(', ')}`);
    }
    if (checkpoint.until !== undefined) {
      const later = checkpoints.find((c) => c.id === checkpoint.until && c.position.line > checkpoint.position.line);
      if (!later) report(checkpoint.position, `Checkpoint \`${checkpoint.id}\` has \`until=${checkpoint.until}\`, but no later block has \`check=${checkpoint.until}\`: name the checkpoint whose step makes this one no longer true`);
    }
  });
}

// Commands a checkpoint must not run, since it runs on an attendee's own environment: compose and
// docker verbs that start, stop or remove, Patroni's changing verbs and SQL that writes. A guard
// against slips, not a proof: a checkpoint is reviewed as read-only.
const WRITING_COMMANDS = [
  /\bdocker\s+compose\s+(?:up|down|start|stop|restart|kill|rm|pause|unpause|create|run|cp)\b/,
  /\bdocker\s+(?:start|stop|restart|kill|rm|pause|unpause|run|cp|network\s+(?:connect|disconnect))\b/,
  /\bpatronictl\b[^\n|;]*\s(?:switchover|failover|restart|reinit|reload|pause|resume|edit-config|remove|flush)\b/,
  /\b(?:insert\s+into|update\s+\w+\s+set|delete\s+from|create\s+(?:table|index|extension|database|role|user)|drop\s|alter\s|truncate\s|vacuum\b|checkpoint\b|reindex\b)/i,
  /\b(?:pg_switch_wal|pg_promote|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_create_physical_replication_slot|pg_drop_replication_slot|nextval|setval)\s*\(/i,
];

function writingCommand(code: string): { line: number; text: string } | undefined {
  const lines = code.split('\n');
  for (const [line, text] of lines.entries()) {
    for (const pattern of WRITING_COMMANDS) {
      const found = pattern.exec(text);
      if (found) return { line, text: found[0].trim() };
    }
  }
  return undefined;
}

function readFrontMatter(
  node: Yaml | undefined, file: string, kind: 'lab' | 'lesson',
  at: (line: number, column: number) => SourcePosition, report: (p: SourcePosition, m: string) => void,
): FrontMatter | undefined {
  if (!node) {
    report(at(1, 1), `Missing front matter: expected a \`---\` block with \`title\`${kind === 'lab' ? ', `environment` and `majors`' : ''}`);
    return undefined;
  }
  const where = at(node.position!.start.line, 1);
  let raw: Record<string, unknown>;
  try {
    const parsed = YAML.parse(node.value) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      report(where, `Front matter must be a YAML mapping, found ${JSON.stringify(parsed)}`);
      return undefined;
    }
    raw = parsed as Record<string, unknown>;
  } catch (error) {
    const e = error as { pos?: [number, number]; linePos?: { line: number; col: number }[]; message: string };
    const fault = yamlFault(node.value, e.pos?.[0], e.linePos?.[0]);
    report(fault ? at(node.position!.start.line + fault.line, fault.col) : where, `Front matter is not valid YAML: ${e.message.split('\n')[0]!.replace(/:$/, '')}`);
    return undefined;
  }
  const keyLine = (key: string) => {
    const offset = node.value.split('\n').findIndex((line) => line.startsWith(`${key}:`));
    return offset < 0 ? where : at(node.position!.start.line + 1 + offset, 1);
  };
  let ok = true;
  if (typeof raw.title !== 'string' || !raw.title.trim()) {
    report(keyLine('title'), `Front matter \`title\`: expected a non-empty string, found ${JSON.stringify(raw.title)}`);
    ok = false;
  }
  let majors = knownMajors();
  let majorsReason: string | undefined;
  let environment: string | undefined;
  let runsAlone: string | undefined;
  if (kind === 'lab') {
    if (raw.runs_alone !== undefined) {
      if (typeof raw.runs_alone !== 'string' || !raw.runs_alone.trim()) {
        report(keyLine('runs_alone'), `Front matter \`runs_alone\`: expected why the lab needs the machine to itself (for instance "compares pgbench throughput between settings"), found ${JSON.stringify(raw.runs_alone)}`);
        ok = false;
      } else runsAlone = raw.runs_alone.trim();
    }
    if (typeof raw.environment !== 'string' || !/^[a-z0-9-]+$/.test(raw.environment)) {
      report(keyLine('environment'), `Front matter \`environment\`: expected the name of a folder under environments/ (or \`none\`), found ${JSON.stringify(raw.environment)}`);
      ok = false;
    } else if (raw.environment === 'none') {
      // A lab of plain shell steps needs no cluster.
    } else if (!existsSync(path.join(environmentsDir, raw.environment, 'compose.yaml'))) {
      report(keyLine('environment'), `Front matter \`environment: ${raw.environment}\`: environments/${raw.environment}/compose.yaml does not exist`);
      ok = false;
    } else environment = raw.environment;
    if (raw.majors !== undefined) {
      // A lab runs on every major of the version table; narrowing it is a decision the page must explain,
      // or a new major would silently verify nothing.
      const narrowed = raw.majors as { range?: unknown; reason?: unknown } | null;
      const range = typeof narrowed?.range === 'string' ? MajorRange.parse(narrowed.range) : undefined;
      if (narrowed === null || typeof narrowed !== 'object' || Array.isArray(narrowed) || typeof narrowed.reason !== 'string' || !narrowed.reason.trim() || range === undefined) {
        report(keyLine('majors'), `Front matter \`majors\`: expected \`{ range: ">=17", reason: "<why the lab does not run on the others>" }\`, or no \`majors\` to run on every major (${knownMajors().join(', ')}), found ${JSON.stringify(raw.majors)}`);
        ok = false;
      } else if (typeof range === 'string') {
        report(keyLine('majors'), `Front matter \`majors.range\`: ${range}`);
        ok = false;
      } else {
        majors = knownMajors().filter((m) => range.includes(m));
        majorsReason = narrowed.reason.trim();
        if (majors.length === 0) {
          report(keyLine('majors'), `Front matter \`majors.range: ${range.text}\` matches none of the version table's majors (${knownMajors().join(', ')})`);
          ok = false;
        }
      }
    }
  }
  if (!ok) return undefined;
  const id = typeof raw.id === 'string' ? raw.id : labIdOf(file);
  return { id, title: raw.title as string, kind, ...(environment && { environment }), majors, ...(majorsReason && { majorsReason }), ...(runsAlone && { runsAlone }), raw };
}

// The line (1-based within the YAML) and column of the entry at fault: YAML notices an unclosed `[` or
// quote only where the next entry starts, so the error belongs to the top-level entry begun before it.
function yamlFault(source: string, offset: number | undefined, fallback?: { line: number; col: number }): { line: number; col: number } | undefined {
  if (offset === undefined) return fallback;
  let entryStart: number | undefined;
  for (const token of new YAML.Parser().parse(source)) {
    if (token.type !== 'document' || token.value?.type !== 'block-map') continue;
    for (const item of token.value.items) {
      const start = item.key && 'offset' in item.key ? item.key.offset : undefined;
      if (start !== undefined && start < offset) entryStart = start;
    }
  }
  const at = entryStart ?? offset;
  const before = source.slice(0, at);
  const line = before.split('\n').length;
  if (fallback && fallback.line === line) return fallback;
  return { line, col: at - (before.lastIndexOf('\n') + 1) + 1 };
}

// `key=ctrl-c` with `key-after=<seconds>` and/or `key-on="<text>"`: when the key is pressed.
function keyPress(
  options: Map<string, InfoOption>, where: (key: string) => SourcePosition, report: (p: SourcePosition, m: string) => void,
): KeyPress | undefined {
  const name = options.get('key');
  const after = numberOption(options.get('key-after'), 'key-after', (n) => n >= 0, 'a number of seconds', where, report);
  const on = options.get('key-on');
  if (!name) {
    for (const option of ['key-after', 'key-on']) {
      if (options.has(option)) report(where(option), `Option \`${option}\` needs \`key=<name>\`: expected one of ${Object.keys(KEYS).map((k) => `\`${k}\``).join(', ')}`);
    }
    return undefined;
  }
  if (!name.value || !(name.value in KEYS)) {
    report(where('key'), `Invalid \`key\`: expected one of ${Object.keys(KEYS).map((k) => `\`${k}\``).join(', ')}, found \`${name.value ?? ''}\``);
    return undefined;
  }
  if (on && !on.value) report(where('key-on'), 'Invalid `key-on`: expected the text to wait for, such as `key-on="waiting"`');
  if (after === undefined && !on?.value) {
    report(where('key'), `\`key=${name.value}\` needs \`key-after=<seconds>\` or \`key-on="<text>"\`: when the key is pressed`);
    return undefined;
  }
  return { key: name.value as KeyName, ...(after !== undefined && { afterSeconds: after }), ...(on?.value && { onText: on.value }) };
}

function numberOption(
  option: InfoOption | undefined, key: string, valid: (n: number) => boolean, expected: string,
  where: (key: string) => SourcePosition, report: (p: SourcePosition, m: string) => void,
): number | undefined {
  if (!option) return undefined;
  const value = Number(option.value);
  if (option.value === undefined || option.value === '' || !Number.isFinite(value) || !valid(value)) {
    report(where(key), `Invalid \`${key}\`: expected ${expected}, found \`${option.value ?? ''}\``);
    return undefined;
  }
  return value;
}

function flag(option: InfoOption | undefined, key: string, where: (key: string) => SourcePosition, report: (p: SourcePosition, m: string) => void): boolean {
  if (!option) return false;
  if (option.value === undefined || option.value === 'true') return true;
  if (option.value === 'false') return false;
  report(where(key), `Invalid \`${key}\`: expected a bare flag (\`${key}\`), found \`${key}=${option.value}\``);
  return false;
}

// Expected output as lines; a trailing newline does not add an empty line.
export function splitOutput(text: string): string[] {
  if (text === '') return [];
  return text.replace(/\n$/, '').split('\n');
}
