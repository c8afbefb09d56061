// The Okabe–Ito palette of styles.css (safe for the common colour-vision deficiencies), read
// from the CSS variables so the charts follow the stylesheet; the hex values are the fallback.
const NAMES = [
  ["--blue", "#0072b2"],
  ["--orange", "#e69f00"],
  ["--green", "#009e73"],
  ["--vermillion", "#d55e00"],
  ["--purple", "#cc79a7"],
  ["--sky", "#56b4e9"],
  ["--yellow", "#f0e442"],
] as const;

function cssVariable(name: string, fallback: string): string {
  if (typeof document === "undefined" || typeof getComputedStyle !== "function") return fallback;
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/** The chart palette, in the order series take it. */
export function palette(): string[] {
  return NAMES.map(([name, fallback]) => cssVariable(name, fallback));
}

export function colour(name: "blue" | "orange" | "green" | "vermillion" | "purple" | "sky" | "yellow"): string {
  const entry = NAMES.find(([n]) => n === `--${name}`)!;
  return cssVariable(entry[0], entry[1]);
}

export function ink(): string {
  return cssVariable("--ink", "#1a1a1a");
}
