// What the rubric version asks of this answer now: the form's gates and conditional
// requirements, as the assignment service checks them (services/assignment/rubric.py). The
// service has the last word; these show the expert what is needed before they submit.
import type { Answers, Rubric, Severity, Verdict } from "./types";

const SEVERITY_ORDER: Severity[] = ["none", "minor", "major", "critical"];

export interface Asked {
  verdicts: Verdict[];
  /** a gate (flag or verdict) ended the form: no ratings, no labels */
  gated: boolean;
  dimensions: boolean;
  labels: boolean;
  labelsRequired: boolean;
  severityRequired: boolean;
  justificationMin: number | null;
}

export function asked(rubric: Rubric, answers: Answers): Asked {
  const flags = rubric.flags ?? [];
  const raised = new Set(answers.flags ?? []);
  const gateFlag = flags.some((f) => f.gate && raised.has(f.name));
  const offered = (rubric.verdicts ?? []) as Verdict[];
  const gateVerdicts = (rubric.gate_verdicts ?? []) as Verdict[];
  const verdicts = gateFlag ? offered.filter((v) => v === "reject" || gateVerdicts.includes(v)) : offered;
  const gated = gateFlag || (answers.verdict != null && gateVerdicts.includes(answers.verdict));
  const labelsSpec = rubric.labels ?? { asked: false, shapes: [], required_for: [] };
  const rule = rubric.justification ?? { min_length: 0, always: false, verdicts: [], severity_at_least: null };
  const severity = answers.severity ?? null;
  const bySeverity =
    rule.severity_at_least != null && severity != null &&
    SEVERITY_ORDER.indexOf(severity) >= SEVERITY_ORDER.indexOf(rule.severity_at_least);
  const justified = rule.always || (answers.verdict != null && (rule.verdicts ?? []).includes(answers.verdict)) || bySeverity;
  return {
    verdicts,
    gated,
    dimensions: !gated && (rubric.dimensions ?? []).length > 0,
    labels: !gated && !!labelsSpec.asked,
    labelsRequired: !gated && answers.verdict != null && (labelsSpec.required_for ?? []).includes(answers.verdict),
    severityRequired: flags.some((f) => f.requires_severity && raised.has(f.name)),
    justificationMin: justified ? Math.max(1, rule.min_length ?? 0) : null,
  };
}

/** Characters as the service counts them: whitespace runs as one, ends stripped. */
export function justificationLength(text: string): number {
  return text.trim().replace(/\s+/g, " ").length;
}

/** The answers to send: what the form no longer asks is left out. */
export function submitted(rubric: Rubric, answers: Answers): Answers {
  const now = asked(rubric, answers);
  return {
    verdict: answers.verdict ?? null,
    ratings: now.dimensions ? answers.ratings ?? {} : {},
    severity: rubric.asks_severity || now.severityRequired ? answers.severity ?? null : null,
    flags: answers.flags ?? [],
    labels: now.labels ? answers.labels ?? [] : [],
    justification: answers.justification ?? "",
  };
}
