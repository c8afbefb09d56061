// The rubric version as a form: the verdict, its gates, the rated dimensions with their
// anchor texts, severity, flags, corrected labels and the justification, each with what the
// rubric requires now and the service's errors by field.
import { useId } from "react";
import { asked, justificationLength } from "./rules";
import type { Answers, Rubric, Severity, Verdict } from "./types";

const SEVERITIES: Severity[] = ["none", "minor", "major", "critical"];
const VERDICT_TEXT: Record<Verdict, string> = {
  accept: "Accept",
  correct: "Correct — fix the labels",
  reject: "Reject",
  infeasible: "Infeasible — cannot be done as asked",
};

export interface FieldErrors {
  [field: string]: string[];
}

export function RubricForm({
  rubric,
  answers,
  onChange,
  errors,
  verdictKeys,
  children,
}: {
  rubric: Rubric;
  answers: Answers;
  onChange: (answers: Answers) => void;
  errors: FieldErrors;
  verdictKeys: Partial<Record<Verdict, string>>;
  /** the corrected labels' editor, shown when the form asks for labels */
  children?: React.ReactNode;
}) {
  const id = useId();
  const now = asked(rubric, answers);
  const set = (patch: Partial<Answers>) => onChange({ ...answers, ...patch });
  const flags = new Set(answers.flags ?? []);
  const justificationShort =
    now.justificationMin != null && justificationLength(answers.justification ?? "") < now.justificationMin;

  return (
    <div className="rubric" aria-describedby={`${id}-about`}>
      <h2>{rubric.name}</h2>
      {rubric.description ? <p id={`${id}-about`}>{rubric.description}</p> : null}
      <ErrorSummary errors={errors} />

      {(rubric.flags ?? []).length > 0 ? (
        <fieldset>
          <legend>Flags</legend>
          {(rubric.flags ?? []).map((flag) => (
            <label key={flag.name}>
              <input
                type="checkbox"
                name="flags"
                checked={flags.has(flag.name)}
                onChange={(e) => {
                  const next = new Set(flags);
                  if (e.target.checked) next.add(flag.name);
                  else next.delete(flag.name);
                  set({ flags: [...next] });
                }}
              />
              {flag.title}
              {flag.gate ? " (ends the form)" : ""}
              {flag.requires_severity ? " (needs a severity)" : ""}
              {flag.description ? <span className="anchor"> — {flag.description}</span> : null}
            </label>
          ))}
          <Errors at="body.flags" errors={errors} />
        </fieldset>
      ) : null}

      {now.verdicts.length > 0 ? (
        <fieldset>
          <legend>Verdict (required)</legend>
          {now.verdicts.map((verdict) => (
            <label key={verdict}>
              <input
                type="radio"
                name={`${id}-verdict`}
                value={verdict}
                checked={answers.verdict === verdict}
                onChange={() => set({ verdict })}
              />
              {VERDICT_TEXT[verdict]}
              {verdictKeys[verdict] ? (
                <>
                  {" "}
                  <span className="kbd" aria-label={`key ${verdictKeys[verdict]}`}>
                    {verdictKeys[verdict]}
                  </span>
                </>
              ) : null}
            </label>
          ))}
          {now.gated ? <p role="note">The gate ends the form here: no ratings or labels are asked.</p> : null}
          <Errors at="body.verdict" errors={errors} />
        </fieldset>
      ) : null}

      {now.dimensions
        ? (rubric.dimensions ?? []).map((dim) => {
            const min = dim.scale_min ?? 1;
            const max = dim.scale_max ?? 5;
            const points = Array.from({ length: max - min + 1 }, (_, i) => min + i);
            const value = answers.ratings?.[dim.name];
            const anchor = value != null ? dim.anchors?.[String(value)] : undefined;
            return (
              <fieldset key={dim.name} data-dimension={dim.name}>
                <legend>
                  {dim.title} (required, {min}–{max})
                </legend>
                {dim.description ? <p className="anchor">{dim.description}</p> : null}
                <div className="scale">
                  {points.map((point) => (
                    <label key={point} title={dim.anchors?.[String(point)] ?? undefined}>
                      <input
                        type="radio"
                        name={`${id}-${dim.name}`}
                        value={point}
                        checked={value === point}
                        onChange={() => set({ ratings: { ...(answers.ratings ?? {}), [dim.name]: point } })}
                        aria-describedby={dim.anchors?.[String(point)] ? `${id}-${dim.name}-${point}` : undefined}
                      />
                      {point}
                      {dim.anchors?.[String(point)] ? (
                        <span id={`${id}-${dim.name}-${point}`} className="visually-hidden">
                          {dim.anchors[String(point)]}
                        </span>
                      ) : null}
                    </label>
                  ))}
                </div>
                {anchor ? <p className="anchor">{anchor}</p> : null}
                <Errors at={`body.ratings.${dim.name}`} errors={errors} />
              </fieldset>
            );
          })
        : null}

      {rubric.asks_severity || now.severityRequired ? (
        <fieldset>
          <legend>Severity{now.severityRequired ? " (required: a raised flag needs one above none)" : ""}</legend>
          <div className="scale">
            {SEVERITIES.map((severity) => (
              <label key={severity}>
                <input
                  type="radio"
                  name={`${id}-severity`}
                  value={severity}
                  checked={answers.severity === severity}
                  onChange={() => set({ severity })}
                />
                {severity}
              </label>
            ))}
          </div>
          <Errors at="body.severity" errors={errors} />
        </fieldset>
      ) : null}

      {now.labels ? (
        <fieldset>
          <legend>Corrected labels{now.labelsRequired ? " (required for this verdict)" : ""}</legend>
          {children}
          <Errors at="body.labels" errors={errors} />
        </fieldset>
      ) : null}

      <label htmlFor={`${id}-justification`}>
        Justification
        {now.justificationMin != null ? ` (required: at least ${now.justificationMin} characters)` : " (optional)"}
      </label>
      <textarea
        id={`${id}-justification`}
        data-role="justification"
        rows={4}
        cols={40}
        value={answers.justification ?? ""}
        aria-invalid={justificationShort || (errors["body.justification"]?.length ?? 0) > 0}
        aria-describedby={`${id}-count`}
        onChange={(e) => set({ justification: e.target.value })}
      />
      <p id={`${id}-count`} className="anchor">
        {justificationLength(answers.justification ?? "")} characters
        {now.justificationMin != null ? ` of at least ${now.justificationMin}` : ""}
      </p>
      <Errors at="body.justification" errors={errors} />
    </div>
  );
}

/** Every refusal at once, at the top of the form, each naming its field. */
function ErrorSummary({ errors }: { errors: FieldErrors }) {
  const all = Object.entries(errors);
  if (!all.length) return null;
  return (
    <div className="errors" role="alert">
      <p>Not submitted: {all.length === 1 ? "one answer needs" : `${all.length} answers need`} attention.</p>
      <ul>
        {all.flatMap(([field, messages]) =>
          messages.map((m) => (
            <li key={`${field}${m}`}>
              {field === "body" ? "" : `${field.replace(/^body\./, "")}: `}
              {m}
            </li>
          )),
        )}
      </ul>
    </div>
  );
}

function Errors({ at, errors }: { at: string; errors: FieldErrors }) {
  const found = Object.entries(errors).filter(([field]) => field === at || field.startsWith(`${at}.`));
  if (!found.length) return null;
  return (
    <ul className="errors">
      {found.flatMap(([field, messages]) => messages.map((m) => <li key={`${field}${m}`}>{m}</li>))}
    </ul>
  );
}
