// What a person's terminal shows for a stretch of PTY output: the text after carriage returns,
// cursor moves and ANSI sequences have done their work, one logical line per line.
import xterm from '@xterm/headless';
import { stripVTControlCharacters } from 'node:util';

// The size every terminal of the harness has (and that psql and docker compose see).
export const TERMINAL_SIZE = { cols: 120, rows: 40 } as const;
// Lines kept above the screen; output beyond this many lines loses its beginning.
const SCROLLBACK = 100_000;
// Stands for the command line above a step's output (rendered, then left out).
const TYPED_LINE = '$';

// Renders raw terminal output as the lines a person would read; lines the terminal wrapped at its
// width are joined again, trailing spaces and trailing empty lines are dropped.
export async function renderScreen(raw: string): Promise<string> {
  if (raw === '') return '';
  const screen = new xterm.Terminal({ ...TERMINAL_SIZE, scrollback: SCROLLBACK, allowProposedApi: true });
  try {
    // The output starts below the line the command was typed on: programs that redraw (docker
    // compose's progress) move the cursor up from there first.
    await new Promise<void>((resolve) => screen.write(`${TYPED_LINE}\r\n${raw}`, resolve));
    const buffer = screen.buffer.active;
    const lines: string[] = [];
    for (let i = 1; i < buffer.length; i++) {
      const line = buffer.getLine(i)!;
      const next = buffer.getLine(i + 1);
      // A row continued on the next one keeps its trailing spaces: they are inside the logical line.
      const text = line.translateToString(!next?.isWrapped);
      if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
      else if (i === 1 && line.isWrapped) lines.push(text);
      else lines.push(text);
    }
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  } finally {
    screen.dispose();
  }
}

export function plainText(raw: string): string {
  return stripVTControlCharacters(raw).replace(/\r/g, '');
}
