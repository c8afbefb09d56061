// Drafts kept in the browser (IndexedDB) by unit: an expired lease, a reload or a closed tab
// never loses an expert's answers. A draft leaves only when its judgment is accepted or the
// expert discards it.
import { createStore, del, entries, get, set } from "idb-keyval";
import type { Answers } from "./types";

export interface Draft {
  unit_id: string;
  item_id: string;
  project_id: string;
  /** the same id on every attempt to submit this draft: a retry is the same judgment */
  submission_id: string;
  answers: Answers;
  saved_at: string;
}

const store = createStore("quorum-workbench", "drafts");

export const loadDraft = (unitId: string) => get<Draft>(unitId, store);
export const saveDraft = (draft: Draft) => set(draft.unit_id, draft, store);
export const dropDraft = (unitId: string) => del(unitId, store);
export async function allDrafts(): Promise<Draft[]> {
  return (await entries<string, Draft>(store)).map(([, draft]) => draft);
}

export function emptyAnswers(): Answers {
  return { verdict: null, ratings: {}, severity: null, flags: [], labels: [], justification: "" };
}
