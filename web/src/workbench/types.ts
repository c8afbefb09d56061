import type { components } from "../api/assignment";

export type HandedOut = components["schemas"]["HandedOut"];
export type Answers = components["schemas"]["Answers"];
export type Label = Answers["labels"] extends (infer L)[] | undefined ? L : never;
export type Rubric = components["schemas"]["RubricDefinition"];
export type Verdict = components["schemas"]["Verdict"];
export type Severity = components["schemas"]["Severity"];
export type MediaLink = components["schemas"]["MediaLink"];
export type ReleaseReason = components["schemas"]["ReleaseIn"]["reason"];

/** One media file of a unit, as the content gives it (ingest's MediaFile). */
export interface MediaFile {
  modality: "image" | "video" | "audio" | "text";
  uri: string;
  width?: number;
  height?: number;
  duration_s?: number;
  fps?: number;
  has_audio?: boolean;
  language?: string;
}

export interface Part {
  name: string | null;
  role: string;
  media: MediaFile;
  link: MediaLink | undefined;
}

/** The unit's media files with their signed links, single file or bundle parts in order. */
export function partsOf(unit: HandedOut): Part[] {
  const content = unit.content as {
    media?: MediaFile | null;
    parts?: { name: string; role: string; media: MediaFile }[] | null;
  };
  if (content.media) return [{ name: null, role: content.media.modality, media: content.media, link: unit.media_links?.[0] }];
  return (content.parts ?? []).map((part, i) => ({ name: part.name, role: part.role, media: part.media, link: unit.media_links?.[i] }));
}

export function prelabelsOf(unit: HandedOut): Label[] {
  const content = unit.content as { prelabels?: { labels?: Label[] } | null };
  return content.prelabels?.labels ?? [];
}

export function taxonomyOf(unit: HandedOut): { ontology_id: string; version: number } | null {
  return ((unit.content as { taxonomy?: { ontology_id: string; version: number } | null }).taxonomy ?? null);
}
