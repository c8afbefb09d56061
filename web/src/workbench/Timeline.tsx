// Video or audio with a segment timeline: the waveform from peaks the media server computed
// (never the whole file downloaded for it), the segments as regions to drag and resize, and
// the same segments in a list the keyboard can use: class, start and end (arrow keys nudge
// them by a tenth of a second), play the segment, delete. Keys (the keymap) play, seek,
// change speed, mark a segment's edges at the playhead and move between segments.
import { useEffect, useRef, useState } from "react";
import WaveSurfer from "wavesurfer.js";
import RegionsPlugin, { type Region } from "wavesurfer.js/dist/plugins/regions.esm.js";
import TimelinePlugin from "wavesurfer.js/dist/plugins/timeline.esm.js";
import { ClassPicker, classTitle, type TaxonomyClass } from "./ClassPicker";
import { useCommands, type Registry } from "./commands";
import type { Label } from "./types";

const SPEEDS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2];
const COLORS = ["rgba(0,114,178,0.25)", "rgba(230,159,0,0.25)", "rgba(0,158,115,0.25)", "rgba(204,121,167,0.25)"];
const round = (v: number) => Math.round(v * 100) / 100;

interface Peaks {
  duration: number;
  peaks: number[][];
}

export function Timeline({
  kind,
  url,
  peaksUrl,
  duration,
  part,
  labels,
  prelabels,
  classes,
  onChange,
  registry,
  editable,
}: {
  kind: "video" | "audio";
  url: string;
  peaksUrl: string | null | undefined;
  duration: number;
  part: string | null;
  labels: Label[];
  prelabels: Label[];
  classes: TaxonomyClass[];
  onChange: (labels: Label[]) => void;
  registry: Registry;
  editable: boolean;
}) {
  const media = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  const waveform = useRef<HTMLDivElement>(null);
  const ruler = useRef<HTMLDivElement>(null);
  const surfer = useRef<WaveSurfer | null>(null);
  const regions = useRef<RegionsPlugin | null>(null);
  const [peaks, setPeaks] = useState<Peaks | null>(null);
  const [peaksError, setPeaksError] = useState<string | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [speed, setSpeed] = useState(1);
  const [time, setTime] = useState(0);
  const latest = useRef({ labels, onChange });
  latest.current = { labels, onChange };
  const mine = labels.map((l, i) => ({ l, i })).filter(({ l }) => (l.part ?? null) === part && l.segment);

  useEffect(() => {
    if (!peaksUrl) return;
    let live = true;
    fetch(peaksUrl)
      .then(async (r) => {
        if (!r.ok) throw new Error((await r.text()) || `HTTP ${r.status}`);
        return (await r.json()) as Peaks;
      })
      .then((p) => live && setPeaks(p))
      .catch((e: Error) => live && setPeaksError(e.message));
    return () => {
      live = false;
    };
  }, [peaksUrl]);

  // the waveform follows the media element; built once the peaks are in (or without them)
  useEffect(() => {
    if (!media.current || !waveform.current || (peaksUrl && !peaks && !peaksError)) return;
    const plugin = RegionsPlugin.create();
    const ws = WaveSurfer.create({
      container: waveform.current,
      media: media.current,
      peaks: peaks?.peaks,
      duration: peaks?.duration ?? duration,
      height: 72,
      waveColor: "#56b4e9",
      progressColor: "#0072b2",
      cursorColor: "#d55e00",
      plugins: [plugin, TimelinePlugin.create({ container: ruler.current ?? undefined })],
    });
    surfer.current = ws;
    regions.current = plugin;
    plugin.on("region-updated", (region: Region) => {
      const index = Number(region.id);
      const { labels: now, onChange: change } = latest.current;
      change(now.map((l, i) => (i === index ? { ...l, segment: { start_s: round(region.start), end_s: round(region.end) } } : l)));
    });
    plugin.on("region-clicked", (region: Region, e: MouseEvent) => {
      e.stopPropagation();
      setSelected(Number(region.id));
    });
    return () => {
      ws.destroy();
      surfer.current = null;
      regions.current = null;
    };
  }, [peaks, peaksError, peaksUrl, duration]);

  // regions drawn from the labels (the list and the keys change labels; the canvas follows)
  useEffect(() => {
    const plugin = regions.current;
    if (!plugin) return;
    plugin.clearRegions();
    for (const l of prelabels.filter((p) => (p.part ?? null) === part && p.segment)) {
      plugin.addRegion({ start: l.segment!.start_s, end: l.segment!.end_s, color: "rgba(85,85,85,0.12)", drag: false, resize: false, content: `pre: ${l.class_id}` });
    }
    mine.forEach(({ l, i }, n) =>
      plugin.addRegion({
        id: String(i),
        start: l.segment!.start_s,
        end: l.segment!.end_s,
        color: selected === i ? "rgba(213,94,0,0.3)" : COLORS[n % COLORS.length],
        drag: editable,
        resize: editable,
        content: `${n + 1}: ${l.class_id}`,
      }),
    );
  });

  useEffect(() => {
    const el = media.current;
    if (!el) return;
    const tick = () => setTime(el.currentTime);
    el.addEventListener("timeupdate", tick);
    return () => el.removeEventListener("timeupdate", tick);
  }, []);

  const el = () => media.current!;
  const total = peaks?.duration ?? duration;
  const setSegment = (index: number, start: number, end: number) =>
    onChange(labels.map((l, i) => (i === index ? { ...l, segment: { start_s: round(Math.max(0, Math.min(start, end))), end_s: round(Math.min(total, Math.max(start, end))) } } : l)));
  const playSegment = (index: number) => {
    const segment = labels[index]?.segment;
    if (!segment) return;
    el().currentTime = segment.start_s;
    void el().play();
    const stop = () => {
      if (el().currentTime >= segment.end_s) {
        el().pause();
        el().removeEventListener("timeupdate", stop);
      }
    };
    el().addEventListener("timeupdate", stop);
  };
  const changeSpeed = (by: number) => {
    const next = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, SPEEDS.indexOf(speed) + by))];
    setSpeed(next);
    el().playbackRate = next;
  };
  const step = (by: number) => {
    if (!mine.length) return;
    const at = mine.findIndex(({ i }) => i === selected);
    const next = mine[(at + by + mine.length) % mine.length];
    setSelected(next.i);
    el().currentTime = next.l.segment!.start_s;
  };

  useCommands(registry, {
    playPause: () => (el().paused ? void el().play() : el().pause()),
    playSegment: selected != null ? () => playSegment(selected) : undefined,
    newSegment: editable
      ? () => {
          const start = el().currentTime;
          const next = [...labels, { class_id: classes[0]?.id ?? "", part, segment: { start_s: round(start), end_s: round(Math.min(total, start + 1)) } } as Label];
          onChange(next);
          setSelected(next.length - 1);
        }
      : undefined,
    segmentStart: editable && selected != null ? () => setSegment(selected, el().currentTime, labels[selected].segment!.end_s) : undefined,
    segmentEnd: editable && selected != null ? () => setSegment(selected, labels[selected].segment!.start_s, el().currentTime) : undefined,
    slower: () => changeSpeed(-1),
    faster: () => changeSpeed(1),
    seekBack: () => (el().currentTime = Math.max(0, el().currentTime - 1)),
    seekForward: () => (el().currentTime = Math.min(total, el().currentTime + 1)),
    nextRegion: () => step(1),
    previousRegion: () => step(-1),
    deleteRegion:
      editable && selected != null
        ? () => {
            onChange(labels.filter((_, i) => i !== selected));
            setSelected(null);
          }
        : undefined,
  });

  const Media = kind;
  return (
    <div className="timeline">
      <Media ref={media} src={url} controls preload="auto" crossOrigin="anonymous" style={kind === "video" ? { maxWidth: "100%", maxHeight: "22rem" } : undefined} aria-label={`${kind} of the unit`} />
      <div ref={waveform} aria-hidden="true" />
      <div ref={ruler} aria-hidden="true" />
      <p className="status-line" role="status" aria-live="off">
        <span>
          {time.toFixed(2)} s of {total.toFixed(2)} s
        </span>
        <span>speed {speed}×</span>
        {peaksError ? <span>waveform unavailable: {peaksError}</span> : null}
      </p>
      <div className="segments">
        <h3 id={`segments-${part ?? "media"}`}>Segments ({mine.length})</h3>
        {mine.length === 0 ? <p>No segments: press the “new segment” key at the playhead.</p> : null}
        <ul aria-labelledby={`segments-${part ?? "media"}`}>
          {mine.map(({ l, i }, n) => (
            <li key={i} data-segment={i} aria-selected={selected === i} onFocus={() => setSelected(i)}>
              <span>Segment {n + 1}</span>
              <ClassPicker classes={classes} value={l.class_id} label={`segment ${n + 1}`} onChange={(class_id) => onChange(labels.map((x, k) => (k === i ? { ...x, class_id } : x)))} />
              <label>
                <span className="visually-hidden">segment {n + 1} </span>start
                <input type="number" step={0.1} min={0} max={total} value={l.segment!.start_s} disabled={!editable} style={{ width: "5rem" }} onChange={(e) => setSegment(i, Number(e.target.value), l.segment!.end_s)} />
              </label>
              <label>
                <span className="visually-hidden">segment {n + 1} </span>end
                <input type="number" step={0.1} min={0} max={total} value={l.segment!.end_s} disabled={!editable} style={{ width: "5rem" }} onChange={(e) => setSegment(i, l.segment!.start_s, Number(e.target.value))} />
              </label>
              <button type="button" onClick={() => playSegment(i)}>
                Play<span className="visually-hidden"> segment {n + 1}</span>
              </button>
              <button type="button" onClick={() => onChange(labels.filter((_, k) => k !== i))} disabled={!editable}>
                Delete<span className="visually-hidden"> segment {n + 1}</span>
              </button>
            </li>
          ))}
        </ul>
        {prelabels.some((p) => (p.part ?? null) === part && p.segment) ? (
          <details>
            <summary>Pre-labelled segments</summary>
            <ul>
              {prelabels
                .filter((p) => (p.part ?? null) === part && p.segment)
                .map((p, k) => (
                  <li key={k}>
                    {classTitle(classes.find((c) => c.id === p.class_id) ?? { id: p.class_id, name: p.class_id })}: {p.segment!.start_s}–{p.segment!.end_s} s
                  </li>
                ))}
            </ul>
          </details>
        ) : null}
      </div>
    </div>
  );
}
