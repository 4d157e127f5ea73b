// The code blocks' colours: Prism's GitHub (light) and Dracula (dark) themes with every token colour
// moved just far enough from the block's background to reach WCAG AA contrast (4.5:1), since several of
// theirs (GitHub's strings and numbers, Dracula's comments) fall short and axe-core reports them.
import type { PrismTheme } from 'prism-react-renderer';
import { readableOn } from './contrast.mts';

// The theme with its plain text and every token style's colour readable on its own background.
export function readableTheme(theme: PrismTheme): PrismTheme {
  const background = theme.plain.backgroundColor ?? '#ffffff';
  return {
    plain: { ...theme.plain, ...(theme.plain.color && { color: readableOn(theme.plain.color, background) }) },
    styles: theme.styles.map((entry) => ({
      ...entry,
      style: { ...entry.style, ...(typeof entry.style.color === 'string' && { color: readableOn(entry.style.color, background) }) },
    })),
  };
}
