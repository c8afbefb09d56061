// Guideline feedback queue: assignment GET /v1/feedback?status=open&project_id= (oldest first),
// each resolved with a note the expert sees: POST /v1/feedback/{id}/resolve {note}.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { ApiError } from "../api/client";
import type { Role } from "../session";
import { may } from "./access";
import { when } from "./format";
import { NotForRole, Panel, ProblemText, QueryView } from "./Panel";
import { fetchFeedback, keys, resolveFeedback, retryServerErrors, type Feedback } from "./queries";

const KIND_TEXT: Record<Feedback["kind"], string> = {
  unclear_guideline: "Unclear guideline",
  missing_class: "Missing class",
  contradictory_example: "Contradictory example",
  other: "Other",
};

export function FeedbackPanel({ project, role }: { project: string; role: Role }) {
  const allowed = may(role, "feedback");
  const query = useQuery({
    queryKey: keys.feedback(project),
    queryFn: ({ signal }) => fetchFeedback(project, signal),
    enabled: allowed,
    refetchInterval: 30_000,
    retry: retryServerErrors,
  });
  return (
    <Panel id="feedback" title="Guideline feedback queue">
      {allowed ? (
        <QueryView query={query} empty="No open feedback on this project's guideline." isEmpty={(d) => d.length === 0}>
          {(items) => (
            <>
              <p className="anchor">
                {items.length} open, oldest first. The expert sees the note you resolve with.
              </p>
              <ul className="feedback">
                {items.map((f) => (
                  <FeedbackItem key={f.feedback_id} feedback={f} project={project} />
                ))}
              </ul>
            </>
          )}
        </QueryView>
      ) : (
        <NotForRole what="The feedback queue is for ops and admin." />
      )}
    </Panel>
  );
}

function FeedbackItem({ feedback, project }: { feedback: Feedback; project: string }) {
  const id = useId();
  const client = useQueryClient();
  const [note, setNote] = useState("");
  const resolve = useMutation({
    mutationFn: (text: string) => resolveFeedback(feedback.feedback_id, text),
    onSuccess: () => {
      client.setQueryData<Feedback[]>(keys.feedback(project), (items) => items?.filter((f) => f.feedback_id !== feedback.feedback_id));
      void client.invalidateQueries({ queryKey: keys.feedback(project) });
    },
    onError: (error) => {
      // 409: resolved already (by someone else): the queue is out of date.
      if (error instanceof ApiError && (error.status === 409 || error.status === 404)) {
        void client.invalidateQueries({ queryKey: keys.feedback(project) });
      }
    },
  });
  const heading = `${id}-heading`;
  return (
    <li>
      <article aria-labelledby={heading}>
        <h3 id={heading}>
          {KIND_TEXT[feedback.kind] ?? feedback.kind} on the {feedback.about}
        </h3>
        <p>{feedback.text}</p>
        <dl>
          <dt>Submitted</dt>
          <dd>
            <time dateTime={feedback.submitted_at}>{when(feedback.submitted_at)}</time> by {feedback.expert_id}
          </dd>
          <dt>Item</dt>
          <dd>
            {feedback.item_id} (unit {feedback.unit_id})
          </dd>
          <dt>Guideline</dt>
          <dd>
            rubric {feedback.rubric.rubric_id} version {feedback.rubric.version}
            {feedback.taxonomy ? `; taxonomy ${feedback.taxonomy.ontology_id} version ${feedback.taxonomy.version}` : ""}
          </dd>
          {feedback.class_ids.length ? (
            <>
              <dt>Classes</dt>
              <dd>{feedback.class_ids.join(", ")}</dd>
            </>
          ) : null}
          {feedback.proposed_class ? (
            <>
              <dt>Proposed class</dt>
              <dd>{feedback.proposed_class}</dd>
            </>
          ) : null}
        </dl>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            const text = note.trim();
            if (text) resolve.mutate(text);
          }}
        >
          <label htmlFor={`${id}-note`}>
            Note to the expert
            <textarea
              id={`${id}-note`}
              value={note}
              onChange={(e) => setNote(e.target.value)}
              required
              maxLength={2000}
              rows={2}
            />
          </label>
          <button type="submit" disabled={resolve.isPending || note.trim() === ""}>
            {resolve.isPending ? "Resolving…" : "Resolve"}
          </button>
          {resolve.isError ? (
            <div role="alert">
              {resolve.error instanceof ApiError && resolve.error.status === 409 ? (
                <p className="errors">Resolved already: the queue is refreshed.</p>
              ) : (
                <ProblemText error={resolve.error} />
              )}
            </div>
          ) : null}
        </form>
      </article>
    </li>
  );
}
