// The filters form: project, window and rubric version; each change applies at once (and is
// written to the URL by useFilters).
import { useEffect, useId, useState } from "react";
import { WINDOWS, type Filters, type WindowChoice } from "./filters";
import type { Project } from "./queries";

const WINDOW_TEXT: Record<WindowChoice, string> = {
  "1h": "Last hour",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  all: "All time (throughput: last 24 hours)",
};

export function FiltersForm({
  filters,
  projects,
  projectsNote,
  onChange,
}: {
  filters: Filters;
  /** The tenant's projects, or null when the caller may not list them (a project id is typed). */
  projects: Project[] | null;
  projectsNote?: string;
  onChange: (change: Partial<Filters>) => void;
}) {
  const id = useId();
  return (
    <form className="filters" aria-label="Filters" onSubmit={(event) => event.preventDefault()}>
      {projects ? (
        <label htmlFor={`${id}-project`}>
          Project
          <select
            id={`${id}-project`}
            value={filters.project ?? ""}
            onChange={(event) => onChange({ project: event.target.value || null })}
            disabled={projects.length === 0}
          >
            {projects.length === 0 ? <option value="">No project</option> : null}
            {projects.map((p) => (
              <option key={p.project_id} value={p.project_id}>
                {p.name} ({p.project_id}, {p.status})
              </option>
            ))}
          </select>
        </label>
      ) : (
        <ProjectIdInput id={`${id}-project`} value={filters.project} onChange={(project) => onChange({ project })} />
      )}
      <label htmlFor={`${id}-window`}>
        Window
        <select
          id={`${id}-window`}
          value={filters.window}
          onChange={(event) => onChange({ window: event.target.value as WindowChoice })}
        >
          {WINDOWS.map((w) => (
            <option key={w} value={w}>
              {WINDOW_TEXT[w]}
            </option>
          ))}
          <option value="all">{WINDOW_TEXT.all}</option>
        </select>
      </label>
      <RubricVersionInput id={`${id}-rubric`} value={filters.rubricVersion} onChange={(rubricVersion) => onChange({ rubricVersion })} />
      {projectsNote ? <p className="anchor">{projectsNote}</p> : null}
    </form>
  );
}

function RubricVersionInput({ id, value, onChange }: { id: string; value: number | null; onChange: (v: number | null) => void }) {
  const [text, setText] = useState(value === null ? "" : String(value));
  useEffect(() => setText(value === null ? "" : String(value)), [value]);
  const hint = `${id}-hint`;
  return (
    <div>
      <label htmlFor={id}>
        Rubric version (optional)
        <input
          id={id}
          type="number"
          inputMode="numeric"
          min={0}
          step={1}
          value={text}
          aria-describedby={hint}
          onChange={(event) => {
            const next = event.target.value;
            setText(next);
            if (next.trim() === "") onChange(null);
            else if (/^\d+$/.test(next.trim()) && Number.isSafeInteger(Number(next))) onChange(Number(next));
          }}
        />
      </label>
      <span id={hint} className="anchor">
        Empty: every version; 0: judgments without a rubric reference.
      </span>
    </div>
  );
}

function ProjectIdInput({ id, value, onChange }: { id: string; value: string | null; onChange: (v: string | null) => void }) {
  const [text, setText] = useState(value ?? "");
  useEffect(() => setText(value ?? ""), [value]);
  return (
    <label htmlFor={id}>
      Project id
      <input
        id={id}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onBlur={() => onChange(text.trim() || null)}
        onKeyDown={(event) => {
          if (event.key === "Enter") onChange(text.trim() || null);
        }}
        autoComplete="off"
      />
    </label>
  );
}
