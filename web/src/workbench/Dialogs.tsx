// The workbench's dialogs (native <dialog>: focus moves in and returns, Escape closes):
// release with a reason, guideline feedback, and the keymap with its remapping.
import { useEffect, useRef, useState } from "react";
import { assignment, ok } from "../api/client";
import { DESCRIPTIONS, keyOf, refusal, saveKeymap, DEFAULT_KEYMAP, type Action, type Keymap } from "./keymap";
import type { ReleaseReason } from "./types";

export function Modal({ open, onClose, title, children }: { open: boolean; onClose: () => void; title: string; children: React.ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby={`dialog-${title}`}>
      <h2 id={`dialog-${title}`}>{title}</h2>
      {open ? children : null}
    </dialog>
  );
}

const REASONS: { value: ReleaseReason; text: string }[] = [
  { value: "skip", text: "Skip: someone else should take it" },
  { value: "cannot_judge", text: "Cannot judge it (media broken, outside my knowledge)" },
  { value: "unsafe_content", text: "Unsafe content" },
  { value: "needs_another_skill", text: "Needs another skill" },
];

export function ReleaseForm({ onRelease, onCancel }: { onRelease: (reason: ReleaseReason, note: string) => Promise<void>; onCancel: () => void }) {
  const [reason, setReason] = useState<ReleaseReason>("skip");
  const [note, setNote] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await onRelease(reason, note);
        } catch (x) {
          setError((x as Error).message);
        }
      }}
    >
      <fieldset>
        <legend>Why do you give this unit back?</legend>
        {REASONS.map((r) => (
          <label key={r.value}>
            <input type="radio" name="release-reason" value={r.value} checked={reason === r.value} onChange={() => setReason(r.value)} />
            {r.text}
          </label>
        ))}
      </fieldset>
      <label>
        Note (optional)
        <textarea value={note} maxLength={500} rows={2} onChange={(e) => setNote(e.target.value)} />
      </label>
      {error ? <p role="alert">{error}</p> : null}
      <button type="submit" className="primary">
        Give it back
      </button>{" "}
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}

export function FeedbackForm({ unitId, onDone }: { unitId: string; onDone: (message: string) => void }) {
  const [about, setAbout] = useState<"rubric" | "taxonomy">("rubric");
  const [kind, setKind] = useState<"unclear_guideline" | "missing_class" | "contradictory_example" | "other">("unclear_guideline");
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submission = useRef(crypto.randomUUID());
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          ok(
            await assignment.POST("/v1/units/{unit_id}/feedback", {
              params: { path: { unit_id: unitId } },
              body: { submission_id: submission.current, about, kind, text, class_ids: [] },
            }),
          );
          onDone("Thank you: your feedback is in the operations team's queue.");
        } catch (x) {
          setError((x as Error).message);
        }
      }}
    >
      <label>
        About
        <select value={about} onChange={(e) => setAbout(e.target.value as typeof about)}>
          <option value="rubric">the rubric</option>
          <option value="taxonomy">the taxonomy</option>
        </select>
      </label>
      <label>
        Kind
        <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
          <option value="unclear_guideline">unclear guideline</option>
          <option value="missing_class">missing class</option>
          <option value="contradictory_example">contradictory example</option>
          <option value="other">other</option>
        </select>
      </label>
      <label>
        What should change?
        <textarea required value={text} maxLength={5000} rows={4} onChange={(e) => setText(e.target.value)} />
      </label>
      {error ? <p role="alert">{error}</p> : null}
      <button type="submit" className="primary">
        Send feedback
      </button>
    </form>
  );
}

export function KeymapTable({ keymap, onChange }: { keymap: Keymap; onChange: (keymap: Keymap) => void }) {
  const [recording, setRecording] = useState<Action | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  return (
    <>
      <p>Press “Change”, then the new key. A key already bound to another action is refused.</p>
      <table className="keymap">
        <thead>
          <tr>
            <th scope="col">Action</th>
            <th scope="col">Key</th>
            <th scope="col">
              <span className="visually-hidden">Change</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(Object.keys(DESCRIPTIONS) as Action[]).map((action) => (
            <tr key={action} data-action={action}>
              <td>{DESCRIPTIONS[action]}</td>
              <td>
                <span className="kbd">{keymap[action] === " " ? "Space" : keymap[action]}</span>
              </td>
              <td>
                <button
                  type="button"
                  aria-label={`Change the key of: ${DESCRIPTIONS[action]}`}
                  onClick={() => setRecording(action)}
                  onKeyDown={(e) => {
                    if (recording !== action || ["Shift", "Control", "Alt", "Meta", "Tab"].includes(e.key)) return;
                    e.preventDefault();
                    e.stopPropagation();
                    if (e.key === "Escape") return setRecording(null);
                    const key = keyOf(e.nativeEvent);
                    const why = refusal(keymap, action, key);
                    if (why) return setMessage(why);
                    const next = { ...keymap, [action]: key };
                    saveKeymap(next);
                    onChange(next);
                    setRecording(null);
                    setMessage(`${DESCRIPTIONS[action]}: ${key}`);
                  }}
                >
                  {recording === action ? "Press a key…" : "Change"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p role="status">{message}</p>
      <button
        type="button"
        onClick={() => {
          saveKeymap(DEFAULT_KEYMAP);
          onChange(DEFAULT_KEYMAP);
          setMessage("Keys reset");
        }}
      >
        Reset all keys
      </button>
    </>
  );
}
