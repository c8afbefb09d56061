// An image with its regions drawn and editable (Konva): boxes and polygons, the pre-labels
// dashed for reference. Every region is also in a list beside it that the keyboard can use:
// its class, its coordinates (arrow keys in the numbers nudge it) and delete.
import type Konva from "konva";
import { useEffect, useMemo, useRef, useState } from "react";
import { Circle, Image as KImage, Layer, Line, Rect, Stage, Transformer } from "react-konva";
import { ClassPicker, type TaxonomyClass } from "./ClassPicker";
import { useCommands, type Registry } from "./commands";
import { area, decode, encode, overlay, paint } from "./masks";
import type { Label } from "./types";

type Mode = "select" | "box" | "polygon" | "mask";
type Mask = { kind: "mask"; size: [number, number]; counts: number[] | string };
const BRUSHES = [2, 4, 8, 12, 20, 32];
type Box = { kind: "box"; x: number; y: number; width: number; height: number };
type Polygon = { kind: "polygon"; points: [number, number][] };
/** the widest the image is drawn, and the most it is enlarged */
const MAX_WIDTH = 680;
const MAX_ZOOM = 2;
const COLORS = ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9"];

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number) => Math.round(v * 10) / 10;

export function ImageRegions({
  url,
  width,
  height,
  part,
  labels,
  prelabels,
  classes,
  onChange,
  registry,
  editable,
  shapes: askedShapes,
}: {
  url: string;
  width: number;
  height: number;
  part: string | null;
  labels: Label[];
  prelabels: Label[];
  classes: TaxonomyClass[];
  onChange: (labels: Label[]) => void;
  registry: Registry;
  editable: boolean;
  /** the shapes the rubric asks labels in (tools for the others are off) */
  shapes: string[];
}) {
  const allowed = (m: Mode) => m === "select" || (editable && askedShapes.includes(m));
  const [image, setImage] = useState<HTMLImageElement | null>(null);
  const [mode, setMode] = useState<Mode>("select");
  const [selected, setSelected] = useState<number | null>(null);
  const [drawing, setDrawing] = useState<Box | null>(null);
  const [points, setPoints] = useState<[number, number][]>([]);
  const [brush, setBrush] = useState(2);
  // the mask being painted: its bitmap and label, until the stroke ends
  const stroke = useRef<{ bits: Uint8Array; index: number; erase: boolean } | null>(null);
  const [strokeVersion, setStrokeVersion] = useState(0);
  const transformer = useRef<Konva.Transformer>(null);
  const shapes = useRef(new Map<number, Konva.Node>());
  const listRef = useRef<HTMLUListElement>(null);
  const scale = Math.min(MAX_ZOOM, MAX_WIDTH / width);
  const mine = labels.map((l, i) => ({ l, i })).filter(({ l }) => (l.part ?? null) === part && l.geometry);
  const defaultClass = classes[0]?.id ?? "";
  // the masks drawn over the image: the pre-labels' grey, the expert's in colour
  const masks = useMemo(() => {
    const drawn: { canvas: HTMLCanvasElement; key: string }[] = [];
    prelabels.forEach((l, k) => {
      const g = l.geometry as Mask | undefined;
      if ((l.part ?? null) === part && g?.kind === "mask" && g.size[0] === height && g.size[1] === width) {
        drawn.push({ key: `pre-mask${k}`, canvas: overlay(decode(g.counts, height, width), height, width, [85, 85, 85, 255]) });
      }
    });
    labels.forEach((l, k) => {
      const g = l.geometry as Mask | undefined;
      if ((l.part ?? null) === part && g?.kind === "mask") {
        drawn.push({ key: `mask${k}`, canvas: overlay(decode(g.counts, height, width), height, width, [0, 114, 178, 255]) });
      }
    });
    return drawn;
  }, [labels, prelabels, part, height, width]);

  useEffect(() => {
    const img = new window.Image();
    img.onload = () => setImage(img);
    img.src = url;
    return () => {
      img.onload = null;
    };
  }, [url]);

  useEffect(() => {
    const node = selected != null ? shapes.current.get(selected) : undefined;
    transformer.current?.nodes(node && mode === "select" && labels[selected!]?.geometry?.kind === "box" ? [node] : []);
  }, [selected, mode, labels]);

  const add = (geometry: Box | Polygon | Mask) => {
    const next = [...labels, { class_id: defaultClass, geometry, part } as Label];
    onChange(next);
    setSelected(next.length - 1);
  };
  const update = (index: number, geometry: Box | Polygon | Mask) =>
    onChange(labels.map((l, i) => (i === index ? ({ ...l, geometry } as Label) : l)));
  const remove = (index: number) => {
    onChange(labels.filter((_, i) => i !== index));
    setSelected(null);
  };
  const step = (by: number) => {
    if (!mine.length) return;
    const at = mine.findIndex(({ i }) => i === selected);
    const next = mine[(at + by + mine.length) % mine.length].i;
    setSelected(next);
    listRef.current?.querySelector<HTMLElement>(`[data-region="${next}"] select`)?.focus();
  };

  useCommands(registry, {
    drawBox: allowed("box") ? () => setMode("box") : undefined,
    drawMask: allowed("mask") ? () => setMode("mask") : undefined,
    brushSmaller: () => setBrush((b) => Math.max(0, b - 1)),
    brushLarger: () => setBrush((b) => Math.min(BRUSHES.length - 1, b + 1)),
    drawPolygon: allowed("polygon") ? () => setMode("polygon") : undefined,
    select: () => setMode("select"),
    deleteRegion: editable && selected != null ? () => remove(selected) : undefined,
    nextRegion: () => step(1),
    previousRegion: () => step(-1),
  });

  const pointer = (stage: Konva.Stage | null): [number, number] | null => {
    const p = stage?.getPointerPosition();
    return p ? [clamp(round(p.x / scale), 0, width), clamp(round(p.y / scale), 0, height)] : null;
  };

  return (
    <div className="image-regions">
      <div className="status-line" role="toolbar" aria-label="Drawing tools">
        {(["select", "box", "polygon", "mask"] as Mode[]).map((m) => (
          <button key={m} type="button" aria-pressed={mode === m} onClick={() => setMode(m)} disabled={!allowed(m)}>
            {m === "select" ? "Select" : m === "box" ? "Box" : m === "polygon" ? "Polygon" : "Mask brush"}
          </button>
        ))}
        {mode === "mask" ? (
          <span role="status">
            brush {BRUSHES[brush]} px (Shift erases; the selected mask grows, else a new one)
          </span>
        ) : null}
        {mode === "polygon" && points.length ? (
          <span role="status">
            {points.length} points: Enter closes the polygon, Escape drops it
          </span>
        ) : null}
      </div>
      <div
        tabIndex={-1}
        onKeyDown={(e) => {
          if (mode !== "polygon") return;
          if (e.key === "Enter" && points.length >= 3) {
            add({ kind: "polygon", points });
            setPoints([]);
          } else if (e.key === "Escape") setPoints([]);
        }}
      >
        <Stage
          width={width * scale}
          height={height * scale}
          scaleX={scale}
          scaleY={scale}
          aria-hidden="true"
          onMouseDown={(e) => {
            const at = pointer(e.target.getStage());
            if (!at) return;
            if (mode === "mask") {
              const current = selected != null ? labels[selected]?.geometry : undefined;
              const index = current?.kind === "mask" ? selected! : labels.length;
              const bits = current?.kind === "mask" ? decode((current as Mask).counts, height, width) : new Uint8Array(width * height);
              const erase = e.evt.shiftKey;
              paint(bits, height, width, at[0], at[1], BRUSHES[brush], !erase);
              stroke.current = { bits, index, erase };
              setStrokeVersion((v) => v + 1);
            } else if (mode === "box") setDrawing({ kind: "box", x: at[0], y: at[1], width: 0, height: 0 });
            else if (mode === "polygon") setPoints([...points, at]);
            else if (e.target === e.target.getStage() || e.target.getClassName() === "Image") setSelected(null);
          }}
          onMouseMove={(e) => {
            if (stroke.current) {
              const at = pointer(e.target.getStage());
              if (at) paint(stroke.current.bits, height, width, at[0], at[1], BRUSHES[brush], !stroke.current.erase);
              setStrokeVersion((v) => v + 1);
              return;
            }
            if (!drawing) return;
            const at = pointer(e.target.getStage());
            if (at) setDrawing({ ...drawing, width: at[0] - drawing.x, height: at[1] - drawing.y });
          }}
          onMouseUp={() => {
            if (stroke.current) {
              const { bits, index } = stroke.current;
              stroke.current = null;
              const geometry: Mask = { kind: "mask", size: [height, width], counts: encode(bits, height, width) };
              if (index < labels.length) update(index, geometry);
              else add(geometry);
              return;
            }
            if (!drawing) return;
            const box = normalise(drawing);
            setDrawing(null);
            if (box.width >= 2 && box.height >= 2) add(box);
          }}
        >
          <Layer>
            {image ? <KImage image={image} width={width} height={height} /> : null}
            {prelabels
              .filter((l) => (l.part ?? null) === part && l.geometry)
              .map((l, i) => (
                <Geometry key={`pre${i}`} label={l} color="#555" dashed />
              ))}
            {masks.map(({ canvas, key }) => (
              <KImage key={key} image={canvas} width={width} height={height} opacity={0.45} listening={false} />
            ))}
            {stroke.current ? (
              <KImage
                key={`stroke${strokeVersion}`}
                image={overlay(stroke.current.bits, height, width, [213, 94, 0, 255])}
                width={width}
                height={height}
                opacity={0.5}
                listening={false}
              />
            ) : null}
            {mine.map(({ l, i }) => (
              <Geometry
                key={i}
                label={l}
                color={COLORS[i % COLORS.length]}
                selected={selected === i}
                draggable={editable && mode === "select"}
                register={(node) => (node ? shapes.current.set(i, node) : shapes.current.delete(i))}
                onSelect={() => setSelected(i)}
                onMoved={(g) => update(i, g)}
                bounds={[width, height]}
              />
            ))}
            {drawing ? <Rect {...normalise(drawing)} stroke="#d55e00" strokeWidth={2 / scale} /> : null}
            {points.length ? (
              <>
                <Line points={points.flat()} stroke="#d55e00" strokeWidth={2 / scale} />
                {points.map(([x, y], k) => (
                  <Circle key={k} x={x} y={y} radius={3 / scale} fill="#d55e00" />
                ))}
              </>
            ) : null}
            <Transformer ref={transformer} rotateEnabled={false} keepRatio={false} ignoreStroke />
          </Layer>
        </Stage>
      </div>
      <div className="regions">
        <h3 id={`regions-${part ?? "media"}`}>Regions ({mine.length})</h3>
        {mine.length === 0 ? <p>No regions: draw one with the Box or Polygon tool.</p> : null}
        <ul ref={listRef} aria-labelledby={`regions-${part ?? "media"}`}>
          {mine.map(({ l, i }, n) => (
            <li key={i} data-region={i} aria-selected={selected === i} onFocus={() => setSelected(i)}>
              <span>
                {l.geometry!.kind === "box" ? "Box" : l.geometry!.kind === "mask" ? "Mask" : "Polygon"} {n + 1}
              </span>
              <ClassPicker
                classes={classes}
                value={l.class_id}
                label={`region ${n + 1}`}
                onChange={(class_id) => onChange(labels.map((x, k) => (k === i ? { ...x, class_id } : x)))}
              />
              {l.geometry!.kind === "box" ? (
                <BoxNumbers box={l.geometry as Box} bounds={[width, height]} onChange={(g) => update(i, g)} n={n + 1} disabled={!editable} />
              ) : l.geometry!.kind === "mask" ? (
                <span data-area>{area(decode((l.geometry as Mask).counts, height, width))} pixels</span>
              ) : (
                <span>{(l.geometry as Polygon).points.length} points</span>
              )}
              <button type="button" onClick={() => remove(i)} disabled={!editable}>
                Delete<span className="visually-hidden"> region {n + 1}</span>
              </button>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

function normalise(b: Box): Box {
  return {
    kind: "box",
    x: round(Math.min(b.x, b.x + b.width)),
    y: round(Math.min(b.y, b.y + b.height)),
    width: round(Math.abs(b.width)),
    height: round(Math.abs(b.height)),
  };
}

function BoxNumbers({ box, bounds, onChange, n, disabled }: { box: Box; bounds: [number, number]; onChange: (b: Box) => void; n: number; disabled: boolean }) {
  const field = (key: "x" | "y" | "width" | "height", max: number) => (
    <label>
      <span aria-hidden="true">{key === "width" ? "w" : key === "height" ? "h" : key}</span>
      <input
        type="number"
        aria-label={`region ${n} ${key}`}
        value={box[key]}
        min={key === "x" || key === "y" ? 0 : 1}
        max={max}
        step={1}
        style={{ width: "4.5rem" }}
        disabled={disabled}
        onChange={(e) => {
          const v = Number(e.target.value);
          if (Number.isFinite(v)) onChange({ ...box, [key]: clamp(v, key === "x" || key === "y" ? 0 : 1, max) });
        }}
      />
    </label>
  );
  return (
    <span className="box-numbers">
      {field("x", bounds[0] - 1)}
      {field("y", bounds[1] - 1)}
      {field("width", bounds[0] - box.x)}
      {field("height", bounds[1] - box.y)}
    </span>
  );
}

function Geometry({
  label,
  color,
  dashed,
  selected,
  draggable,
  register,
  onSelect,
  onMoved,
  bounds,
}: {
  label: Label;
  color: string;
  dashed?: boolean;
  selected?: boolean;
  draggable?: boolean;
  register?: (node: Konva.Node | null) => void;
  onSelect?: () => void;
  onMoved?: (g: Box | Polygon) => void;
  bounds?: [number, number];
}) {
  const g = label.geometry as Box | Polygon | { kind: "mask" };
  const common = {
    stroke: color,
    strokeWidth: selected ? 3 : 2,
    dash: dashed ? [6, 4] : undefined,
    listening: !dashed,
    draggable,
    onMouseDown: onSelect,
    strokeScaleEnabled: false,
  };
  if (g.kind === "box") {
    return (
      <Rect
        ref={register}
        {...common}
        x={g.x}
        y={g.y}
        width={g.width}
        height={g.height}
        onDragEnd={(e) => {
          const [w, h] = bounds!;
          onMoved?.({ ...g, x: round(clamp(e.target.x(), 0, w - g.width)), y: round(clamp(e.target.y(), 0, h - g.height)) });
        }}
        onTransformEnd={(e) => {
          const node = e.target;
          const [w, h] = bounds!;
          const next = normalise({
            kind: "box",
            x: clamp(node.x(), 0, w),
            y: clamp(node.y(), 0, h),
            width: node.width() * node.scaleX(),
            height: node.height() * node.scaleY(),
          });
          node.scaleX(1);
          node.scaleY(1);
          onMoved?.({ ...next, width: Math.min(next.width, w - next.x), height: Math.min(next.height, h - next.y) });
        }}
      />
    );
  }
  if (g.kind === "polygon") {
    return (
      <Line
        ref={register}
        {...common}
        points={g.points.flat()}
        closed
        onDragEnd={(e) => {
          const dx = e.target.x();
          const dy = e.target.y();
          e.target.position({ x: 0, y: 0 });
          const [w, h] = bounds!;
          onMoved?.({ kind: "polygon", points: g.points.map(([x, y]) => [round(clamp(x + dx, 0, w)), round(clamp(y + dy, 0, h))]) });
        }}
      />
    );
  }
  return null;
}
