// The experts' workbench: the next unit with its lease, its media and its rubric form;
// drafts kept in the browser; the keyboard for everything (the keymap, "?" shows it).
import { useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, assignment, taxonomy, type Problem } from "../api/client";
import type { Session } from "../session";
import type { TaxonomyClass } from "../workbench/ClassPicker";
import { ClassPicker, classTitle } from "../workbench/ClassPicker";
import { run, useCommands, useRegistry } from "../workbench/commands";
import { Countdown } from "../workbench/Countdown";
import { FeedbackForm, KeymapTable, Modal, ReleaseForm } from "../workbench/Dialogs";
import { allDrafts, dropDraft, emptyAnswers, loadDraft, saveDraft, type Draft } from "../workbench/drafts";
import { keyOf, loadKeymap, typing, type Action, type Keymap } from "../workbench/keymap";
import { MediaView } from "../workbench/MediaView";
import { RubricForm, type FieldErrors } from "../workbench/RubricForm";
import { asked, submitted } from "../workbench/rules";
import { Stats } from "../workbench/Stats";
import { partsOf, prelabelsOf, taxonomyOf, type Answers, type HandedOut, type Label } from "../workbench/types";
import { useWork } from "../workbench/work";

const NO_WORK: Record<string, string> = {
  not_vetted: "Your profile is not vetted yet: operations will let you know.",
  at_capacity: "You hold as many units as you may at once.",
  not_on_roster: "You are on no project's roster yet.",
  benched: "You are benched on your projects for now: operations will be in touch.",
  no_active_project: "None of your projects is active.",
  missing_skill: "No open project needs your skills now.",
  nothing_left: "Nothing left for you right now.",
};

export function Workbench({ session }: { session: Session }) {
  const work = useWork();
  const registry = useRegistry();
  const [keymap, setKeymap] = useState<Keymap>(loadKeymap);
  const [dialog, setDialog] = useState<"keys" | "release" | "feedback" | null>(null);
  const [judged, setJudged] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void work.resume();
  }, [work]);

  // nothing to do now: ask again when the service says
  useEffect(() => {
    if (!work.waiting) return;
    const timer = setTimeout(() => void work.take(), Math.max(2, work.waiting.retryAfterS) * 1000);
    return () => clearTimeout(timer);
  }, [work.waiting, work]);

  useCommands(registry, {
    help: () => setDialog("keys"),
    release: work.current && work.current.state !== "lost" ? () => setDialog("release") : undefined,
    feedback: work.current ? () => setDialog("feedback") : undefined,
    next: !work.current || work.current.state === "lost" ? () => void work.take() : undefined,
  });

  // one key handler: the keymap's action, unless the key is typed into a field
  useEffect(() => {
    const byKey = new Map(Object.entries(keymap).map(([action, key]) => [key.toLowerCase(), action as Action]));
    const onKey = (event: KeyboardEvent) => {
      if (document.querySelector("dialog[open]")) return;
      const key = keyOf(event);
      const action = byKey.get(key.toLowerCase());
      if (!action) return;
      if (typing(event.target) && action !== "submit") return;
      if (run(registry, action)) event.preventDefault();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [keymap, registry]);

  const held = work.current;
  return (
    <main className="workbench-page">
      <div className="status-line">
        <h1>Workbench</h1>
        <span>{session.subject}</span>
        {held ? <Countdown expiresAt={held.expiresAt} now={work.now} state={held.state} /> : null}
        <span data-testid="prefetched" data-count={work.ahead.length}>
          {work.ahead.length} next unit{work.ahead.length === 1 ? "" : "s"} ready
        </span>
        <button type="button" onClick={() => setDialog("keys")}>
          Keys <span className="kbd">{keymap.help}</span>
        </button>
      </div>
      {notice ? (
        <p role="status" className="notice">
          {notice}
        </p>
      ) : null}
      {work.error ? <p role="alert">{work.error}</p> : null}
      <StrandedDrafts currentUnit={held?.unit.unit_id ?? null} />
      {held ? (
        <Unit
          key={held.unit.unit_id + held.unit.lease_id}
          unit={held.unit}
          lost={held.state === "lost"}
          keymap={keymap}
          registry={registry}
          onJudged={async () => {
            work.finished();
            setJudged((n) => n + 1);
            setNotice("Judgment saved.");
            await work.take();
          }}
          onLost={() => work.finished()}
          onStarted={work.started}
          onTakeNext={() => void work.take()}
        />
      ) : work.waiting ? (
        <section className="panel" aria-live="polite">
          <h2>No unit for you now</h2>
          <p>{NO_WORK[work.waiting.reason] ?? work.waiting.reason}</p>
          <p>The workbench asks again in {work.waiting.retryAfterS} s.</p>
        </section>
      ) : (
        <p role="status">Getting your next unit…</p>
      )}
      {held ? <Stats projectId={held.unit.project_id} judged={judged} /> : null}
      <Modal open={dialog === "keys"} onClose={() => setDialog(null)} title="Keys">
        <KeymapTable keymap={keymap} onChange={setKeymap} />
        <button type="button" onClick={() => setDialog(null)}>
          Close
        </button>
      </Modal>
      <Modal open={dialog === "release"} onClose={() => setDialog(null)} title="Give the unit back">
        <ReleaseForm
          onCancel={() => setDialog(null)}
          onRelease={async (reason, note) => {
            setDialog(null);
            await work.release(reason, note);
            setNotice("The unit went back to the pool.");
          }}
        />
      </Modal>
      <Modal open={dialog === "feedback"} onClose={() => setDialog(null)} title="Guideline feedback">
        {held ? (
          <FeedbackForm
            unitId={held.unit.unit_id}
            onDone={(message) => {
              setDialog(null);
              setNotice(message);
            }}
          />
        ) : null}
      </Modal>
    </main>
  );
}

function Unit({
  unit,
  lost,
  keymap,
  registry,
  onJudged,
  onLost,
  onStarted,
  onTakeNext,
}: {
  unit: HandedOut;
  lost: boolean;
  keymap: Keymap;
  registry: ReturnType<typeof useRegistry>;
  onJudged: () => Promise<void>;
  onLost: () => void;
  onStarted: () => void;
  onTakeNext: () => void;
}) {
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [submitting, setSubmitting] = useState(false);
  const [restored, setRestored] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const rubric = unit.form;
  const parts = partsOf(unit);
  const prelabels = prelabelsOf(unit);
  const ref = taxonomyOf(unit);
  const classes = useQuery({
    queryKey: ["taxonomy", ref?.ontology_id, ref?.version],
    enabled: ref !== null,
    staleTime: Infinity,
    queryFn: async () => {
      const r = await taxonomy.GET("/v1/ontologies/{ontology_id}/versions/{version}", {
        params: { path: { ontology_id: ref!.ontology_id, version: ref!.version } },
      });
      if (!r.data) throw new Error("the taxonomy version could not be read");
      return (r.data.classes as TaxonomyClass[]).filter((c) => c.status !== "deprecated");
    },
  });

  // the draft of this unit (kept from before an expiry or a reload), else a fresh one
  useEffect(() => {
    let live = true;
    void loadDraft(unit.unit_id).then((found) => {
      if (!live) return;
      setRestored(Boolean(found));
      setDraft(
        found ?? {
          unit_id: unit.unit_id,
          item_id: unit.item_id,
          project_id: unit.project_id,
          submission_id: crypto.randomUUID(),
          answers: emptyAnswers(),
          saved_at: new Date().toISOString(),
        },
      );
    });
    return () => {
      live = false;
    };
  }, [unit]);

  const change = useCallback((answers: Answers) => {
    onStarted();
    setDraft((d) => {
      if (!d) return d;
      const next = { ...d, answers, saved_at: new Date().toISOString() };
      void saveDraft(next);
      return next;
    });
  }, [onStarted]);

  const submit = useCallback(async () => {
    if (!draft || submitting || lost) return;
    setSubmitting(true);
    setErrors({});
    try {
      const result = await assignment.POST("/v1/units/{unit_id}/judgments", {
        params: { path: { unit_id: unit.unit_id } },
        body: { submission_id: draft.submission_id, lease_id: unit.lease_id, answers: submitted(rubric, draft.answers) },
      });
      if (result.response.ok) {
        await dropDraft(unit.unit_id);
        await onJudged();
        return;
      }
      const problem = (result.error ?? {}) as Problem;
      if (result.response.status === 422 && problem.errors) {
        const byField: FieldErrors = {};
        for (const e of problem.errors) {
          // the answers' fields, as the form names them
          const field = e.field.replace(/^body\.answers\./, "body.");
          byField[field] = [...(byField[field] ?? []), e.message];
        }
        setErrors(byField);
      } else if (result.response.status === 409 && !problem.errors?.some((e) => e.field === "body.submission_id")) {
        onLost();
      } else {
        setErrors({ body: [problem.detail ?? problem.title ?? `HTTP ${result.response.status}`] });
      }
    } catch (e) {
      setErrors({ body: [e instanceof ApiError ? e.message : `Not sent (${(e as Error).message}): your answers are kept; try again.`] });
    } finally {
      setSubmitting(false);
    }
  }, [draft, submitting, lost, unit, rubric, onJudged, onLost]);

  const answers = draft?.answers ?? emptyAnswers();
  const verdict = (v: "accept" | "correct" | "reject" | "infeasible") =>
    !lost && asked(rubric, answers).verdicts.includes(v) ? () => change({ ...answers, verdict: v }) : undefined;
  useCommands(registry, {
    submit: () => void submit(),
    verdictAccept: verdict("accept"),
    verdictCorrect: verdict("correct"),
    verdictReject: verdict("reject"),
    verdictInfeasible: verdict("infeasible"),
    focusForm: () => formRef.current?.querySelector<HTMLElement>("input, select, textarea")?.focus(),
    focusJustification: () => formRef.current?.querySelector<HTMLElement>("[data-role=justification]")?.focus(),
  });

  if (!draft) return <p role="status">Opening the unit…</p>;
  const classList = classes.data ?? [];
  const wholeItem = answers.labels?.map((l, i) => ({ l, i })).filter(({ l }) => !l.geometry && !l.segment) ?? [];
  return (
    <div className="workbench" data-unit={unit.unit_id} data-kind={unit.kind}>
      <section className="panel" aria-labelledby="unit-media">
        <h2 id="unit-media">
          {unit.kind === "adjudication" ? "Adjudicate" : "Review"}: {unit.modality}
        </h2>
        {lost ? (
          <div role="alert" className="panel">
            <p>
              <strong>Your lease on this unit has ended.</strong> Your answers are kept in this browser: if the unit is handed to you again,
              they come back. If it went to someone else, your draft stays listed below until you discard it.
            </p>
            <button type="button" className="primary" onClick={onTakeNext}>
              Take the next unit <span className="kbd">{keymap.next}</span>
            </button>
          </div>
        ) : null}
        {restored && !lost ? <p role="status">Your draft of this unit is restored.</p> : null}
        <MediaView
          parts={parts}
          labels={(answers.labels ?? []) as Label[]}
          prelabels={prelabels}
          classes={classList}
          onLabels={(labels) => change({ ...answers, labels })}
          registry={registry}
          editable={!lost && asked(rubric, answers).labels}
          shapes={(rubric.labels?.shapes ?? []) as string[]}
        />
        {prelabels.length ? (
          <details open={unit.kind === "adjudication"}>
            <summary>Pre-labels ({prelabels.length})</summary>
            <ul>
              {prelabels.map((l, i) => (
                <li key={i}>
                  {classTitle(classList.find((c) => c.id === l.class_id) ?? { id: l.class_id, name: l.class_id })}
                  {l.part ? ` on ${l.part}` : ""}
                  {l.segment ? ` ${l.segment.start_s}–${l.segment.end_s} s` : ""}
                  {l.geometry ? ` (${(l.geometry as { kind: string }).kind})` : ""}
                  {l.confidence != null ? `, confidence ${l.confidence}` : ""}
                </li>
              ))}
            </ul>
            {answers.labels?.length ? null : (
              <button type="button" disabled={lost} onClick={() => change({ ...answers, labels: prelabels.map(({ confidence: _c, ...rest }) => rest as Label) })}>
                Start from the pre-labels
              </button>
            )}
          </details>
        ) : null}
        {unit.kind === "adjudication" && unit.judgments ? <Judgments judgments={unit.judgments} /> : null}
      </section>
      <section className="panel" aria-labelledby="unit-form">
        <h2 id="unit-form" className="visually-hidden">
          Your answers
        </h2>
        <form
          ref={formRef}
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <fieldset disabled={lost} style={{ border: 0, padding: 0, margin: 0 }}>
            <RubricForm
              rubric={rubric}
              answers={answers}
              onChange={change}
              errors={errors}
              verdictKeys={{ accept: keymap.verdictAccept, correct: keymap.verdictCorrect, reject: keymap.verdictReject, infeasible: keymap.verdictInfeasible }}
            >
              <WholeItemLabels
                labels={wholeItem}
                classes={classList}
                onAdd={(class_id) => change({ ...answers, labels: [...(answers.labels ?? []), { class_id }] as Label[] })}
                onRemove={(index) => change({ ...answers, labels: (answers.labels ?? []).filter((_, i) => i !== index) })}
              />
              <p className="anchor">Regions and segments are drawn on the media; each is listed beside it.</p>
            </RubricForm>
            <p className="status-line">
              <button type="submit" className="primary" disabled={submitting}>
                {submitting ? "Submitting…" : "Submit"} <span className="kbd">{keymap.submit}</span>
              </button>
              <button type="button" onClick={() => run(registry, "release")}>
                Skip / give back <span className="kbd">{keymap.release}</span>
              </button>
              <button type="button" onClick={() => run(registry, "feedback")}>
                Guideline feedback <span className="kbd">{keymap.feedback}</span>
              </button>
            </p>
          </fieldset>
        </form>
      </section>
    </div>
  );
}

function WholeItemLabels({
  labels,
  classes,
  onAdd,
  onRemove,
}: {
  labels: { l: Label; i: number }[];
  classes: TaxonomyClass[];
  onAdd: (classId: string) => void;
  onRemove: (index: number) => void;
}) {
  return (
    <div>
      <h3>Classes of the whole item</h3>
      <ul>
        {labels.map(({ l, i }) => (
          <li key={i}>
            {classTitle(classes.find((c) => c.id === l.class_id) ?? { id: l.class_id, name: l.class_id })}{" "}
            <button type="button" onClick={() => onRemove(i)}>
              Remove<span className="visually-hidden"> {l.class_id}</span>
            </button>
          </li>
        ))}
      </ul>
      <ClassPicker classes={classes} value={null} label="the whole item" onChange={onAdd} />
    </div>
  );
}

function Judgments({ judgments }: { judgments: Answers[] }) {
  return (
    <section aria-labelledby="judgments">
      <h3 id="judgments">The judges' answers</h3>
      <table className="data">
        <thead>
          <tr>
            <th scope="col">Judge</th>
            <th scope="col">Verdict</th>
            <th scope="col">Labels</th>
            <th scope="col">Ratings</th>
            <th scope="col">Flags, severity</th>
            <th scope="col">Justification</th>
          </tr>
        </thead>
        <tbody>
          {judgments.map((j, n) => (
            <tr key={n}>
              <th scope="row">{n + 1}</th>
              <td>{j.verdict ?? "—"}</td>
              <td>{(j.labels ?? []).map((l) => l.class_id).join(", ") || "—"}</td>
              <td>
                {Object.entries(j.ratings ?? {})
                  .map(([k, v]) => `${k} ${v}`)
                  .join(", ") || "—"}
              </td>
              <td>{[...(j.flags ?? []), j.severity].filter(Boolean).join(", ") || "—"}</td>
              <td>{j.justification || "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Drafts of units this browser no longer holds: kept until judged or discarded. */
function StrandedDrafts({ currentUnit }: { currentUnit: string | null }) {
  const [drafts, setDrafts] = useState<Draft[]>([]);
  useEffect(() => {
    void allDrafts().then((all) => setDrafts(all.filter((d) => d.unit_id !== currentUnit)));
  }, [currentUnit]);
  if (!drafts.length) return null;
  return (
    <details className="panel">
      <summary>
        {drafts.length} draft{drafts.length === 1 ? "" : "s"} of units you no longer hold
      </summary>
      <p>
        These units went back to the pool (your lease ended or you left the page). If one is handed to you again, its draft opens with it. If
        someone else judged it meanwhile, the draft cannot be submitted: copy what you need and discard it.
      </p>
      <ul>
        {drafts.map((d) => (
          <li key={d.unit_id}>
            Unit {d.unit_id.slice(0, 12)}…, saved {new Date(d.saved_at).toLocaleString()}: {d.answers.verdict ?? "no verdict"}
            {d.answers.justification ? `, “${d.answers.justification.slice(0, 60)}”` : ""}{" "}
            <button
              type="button"
              onClick={async () => {
                await dropDraft(d.unit_id);
                setDrafts((all) => all.filter((x) => x.unit_id !== d.unit_id));
              }}
            >
              Discard<span className="visually-hidden"> the draft of unit {d.unit_id}</span>
            </button>
          </li>
        ))}
      </ul>
    </details>
  );
}
