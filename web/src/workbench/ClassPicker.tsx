// A class of the unit's taxonomy version, by search: type to filter, arrows and Enter, or
// the list's own keyboard.
import { useId, useState } from "react";

export interface TaxonomyClass {
  id: string;
  name: string;
  display_name?: string | null;
  synonyms?: string[];
  status?: string;
}

export const classTitle = (c: TaxonomyClass) => c.display_name || c.name;

export function ClassPicker({
  classes,
  value,
  onChange,
  label,
}: {
  classes: TaxonomyClass[];
  value: string | null;
  onChange: (classId: string) => void;
  label: string;
}) {
  const id = useId();
  const [query, setQuery] = useState("");
  const q = query.trim().toLowerCase();
  const shown = classes.filter(
    (c) => !q || c.id.toLowerCase().includes(q) || classTitle(c).toLowerCase().includes(q) || (c.synonyms ?? []).some((s) => s.toLowerCase().includes(q)),
  );
  return (
    <span className="class-picker">
      <label htmlFor={`${id}-search`} className="visually-hidden">
        Search classes for {label}
      </label>
      <input
        id={`${id}-search`}
        type="search"
        placeholder="search classes"
        value={query}
        size={12}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && shown.length) {
            e.preventDefault();
            onChange(shown[0].id);
            setQuery("");
          }
        }}
      />
      <label htmlFor={`${id}-class`} className="visually-hidden">
        Class of {label}
      </label>
      <select id={`${id}-class`} value={value ?? ""} onChange={(e) => onChange(e.target.value)}>
        <option value="" disabled>
          choose a class
        </option>
        {shown.map((c) => (
          <option key={c.id} value={c.id}>
            {classTitle(c)}
          </option>
        ))}
        {value && !shown.some((c) => c.id === value) ? <option value={value}>{value}</option> : null}
      </select>
    </span>
  );
}
