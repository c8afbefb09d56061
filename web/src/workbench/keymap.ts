// One keymap for the workbench: every action's key, remappable, checked for collisions
// (keymap.test.ts), shown in the overlay ("?").

export type Action =
  | "submit"
  | "next"
  | "release"
  | "help"
  | "verdictAccept"
  | "verdictCorrect"
  | "verdictReject"
  | "verdictInfeasible"
  | "drawBox"
  | "drawPolygon"
  | "drawMask"
  | "brushSmaller"
  | "brushLarger"
  | "select"
  | "deleteRegion"
  | "nextRegion"
  | "previousRegion"
  | "playPause"
  | "playSegment"
  | "newSegment"
  | "segmentStart"
  | "segmentEnd"
  | "slower"
  | "faster"
  | "seekBack"
  | "seekForward"
  | "focusForm"
  | "focusJustification"
  | "feedback";

export type Keymap = Record<Action, string>;

/** What each action does, for the overlay. */
export const DESCRIPTIONS: Record<Action, string> = {
  submit: "Submit the judgment",
  next: "Show the next unit (after a submission or an expiry)",
  release: "Skip / cannot judge / release with a reason",
  help: "Show this list of keys",
  verdictAccept: "Verdict: accept",
  verdictCorrect: "Verdict: correct",
  verdictReject: "Verdict: reject",
  verdictInfeasible: "Verdict: infeasible",
  drawBox: "Draw a box (drag on the image)",
  drawPolygon: "Draw a polygon (click points, Enter closes)",
  drawMask: "Paint a mask (drag; Shift erases)",
  brushSmaller: "Smaller mask brush",
  brushLarger: "Larger mask brush",
  select: "Select and move regions",
  deleteRegion: "Delete the selected region or segment",
  nextRegion: "Select the next region or segment",
  previousRegion: "Select the previous region or segment",
  playPause: "Play or pause",
  playSegment: "Play the selected segment",
  newSegment: "New segment at the playhead",
  segmentStart: "Move the selected segment's start to the playhead",
  segmentEnd: "Move the selected segment's end to the playhead",
  slower: "Slower playback",
  faster: "Faster playback",
  seekBack: "Back 1 second",
  seekForward: "Forward 1 second",
  focusForm: "Go to the form",
  focusJustification: "Go to the justification",
  feedback: "Write guideline feedback",
};

export const DEFAULT_KEYMAP: Keymap = {
  submit: "Ctrl+Enter",
  next: "n",
  release: "Shift+R",
  help: "?",
  verdictAccept: "a",
  verdictCorrect: "c",
  verdictReject: "r",
  verdictInfeasible: "i",
  drawBox: "b",
  drawPolygon: "p",
  drawMask: "u",
  brushSmaller: "{",
  brushLarger: "}",
  select: "v",
  deleteRegion: "Delete",
  nextRegion: "e",
  previousRegion: "w",
  playPause: "k",
  playSegment: "l",
  newSegment: "m",
  segmentStart: "[",
  segmentEnd: "]",
  slower: "-",
  faster: "=",
  seekBack: ",",
  seekForward: ".",
  focusForm: "f",
  focusJustification: "j",
  feedback: "g",
};

// Tab and Shift+Tab move focus in the page: the workbench never takes them.
export const RESERVED = new Set(["Tab", "Shift+Tab", "Escape", "Enter", " "]);

/** The key a keyboard event names, as the keymap writes it ("Ctrl+Enter", "Shift+R", "?"). */
export function keyOf(event: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "altKey" | "shiftKey">): string {
  const parts: string[] = [];
  if (event.ctrlKey || event.metaKey) parts.push("Ctrl");
  if (event.altKey) parts.push("Alt");
  const printable = event.key.length === 1;
  // a printable key's shift is in the character itself ("?", "R"), but letters say it
  if (event.shiftKey && (!printable || /[A-Za-z ]/.test(event.key))) parts.push("Shift");
  parts.push(printable && /[A-Za-z]/.test(event.key) ? (event.shiftKey ? event.key.toUpperCase() : event.key.toLowerCase()) : event.key);
  return parts.join("+");
}

/** Every key bound to more than one action, with the actions. */
export function collisions(keymap: Keymap): Map<string, Action[]> {
  const byKey = new Map<string, Action[]>();
  for (const [action, key] of Object.entries(keymap) as [Action, string][]) {
    const normal = key.toLowerCase();
    byKey.set(normal, [...(byKey.get(normal) ?? []), action]);
  }
  return new Map([...byKey].filter(([, actions]) => actions.length > 1));
}

/** Why ``key`` cannot be bound to ``action`` in ``keymap``, or null. */
export function refusal(keymap: Keymap, action: Action, key: string): string | null {
  if (!key) return "press a key";
  if (RESERVED.has(key) && DEFAULT_KEYMAP[action] !== key) return `${key} is kept for moving around the page`;
  const taken = (Object.entries(keymap) as [Action, string][]).find(
    ([other, bound]) => other !== action && bound.toLowerCase() === key.toLowerCase(),
  );
  return taken ? `${key} is already "${DESCRIPTIONS[taken[0]]}"` : null;
}

const STORED = "quorum.keymap";

export function loadKeymap(): Keymap {
  try {
    const stored = JSON.parse(localStorage.getItem(STORED) ?? "{}") as Partial<Keymap>;
    const merged = { ...DEFAULT_KEYMAP, ...stored };
    return collisions(merged).size === 0 ? merged : DEFAULT_KEYMAP;
  } catch {
    return DEFAULT_KEYMAP;
  }
}

export function saveKeymap(keymap: Keymap): void {
  localStorage.setItem(STORED, JSON.stringify(keymap));
}

/** Whether a key typed in ``target`` belongs to the field (typing), not to the workbench. */
export function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !["radio", "checkbox", "button"].includes(target.type);
}
