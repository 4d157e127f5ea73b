// WCAG contrast between colours, and a colour moved just far enough from its background to be read:
// used for the code blocks' token colours and the plots' per-version colours in both colour modes.

// WCAG AA for normal text.
export const AA = 4.5;

export function rgb(colour: string): [number, number, number] {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(colour);
  if (hex) {
    const digits = hex[1]!.length === 3 ? [...hex[1]!].map((d) => d + d).join('') : hex[1]!;
    return [0, 2, 4].map((at) => parseInt(digits.slice(at, at + 2), 16)) as [number, number, number];
  }
  const parts = /^rgba?\(([^)]+)\)$/.exec(colour)?.[1]?.split(',').map((part) => Number(part.trim()));
  if (!parts || parts.length < 3 || parts.slice(0, 3).some(Number.isNaN)) throw new Error(`prism theme: cannot read the colour ${colour}`);
  return [parts[0]!, parts[1]!, parts[2]!];
}

export function luminance([r, g, b]: [number, number, number]): number {
  const linear = (channel: number) => {
    const c = channel / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

// The WCAG contrast ratio of two colours (#rgb, #rrggbb, rgb()).
export function contrast(a: string, b: string): number {
  const [high, low] = [luminance(rgb(a)), luminance(rgb(b))].sort((x, y) => y - x);
  return (high! + 0.05) / (low! + 0.05);
}

// The colour mixed towards black (on a light background) or white (on a dark one) until it reaches AA.
export function readableOn(colour: string, background: string): string {
  if (contrast(colour, background) >= AA) return colour;
  const towards = luminance(rgb(background)) > 0.5 ? 0 : 255;
  const [r, g, b] = rgb(colour);
  for (let step = 1; step <= 20; step += 1) {
    const mix = (channel: number) => Math.round(channel + ((towards - channel) * step) / 20);
    const candidate = `#${[mix(r), mix(g), mix(b)].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
    if (contrast(candidate, background) >= AA) return candidate;
  }
  return towards === 0 ? '#000000' : '#ffffff';
}

