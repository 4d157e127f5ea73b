// How the site says a time: "about 12 min", "under 1 min", and "1:25" from the start of the session.

// "about 12 min", "under 1 min".
export function aboutMinutes(minutes: number): string {
  return minutes < 0.5 ? 'under 1 min' : `about ${Math.round(minutes)} min`;
}

// "1:25": minutes from the start of the session as hours and minutes.
export function clockText(minutes: number): string {
  const rounded = Math.round(minutes);
  return `${Math.floor(rounded / 60)}:${String(rounded % 60).padStart(2, '0')}`;
}
