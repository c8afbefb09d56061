// A unit's media by modality: images with regions, video and audio with their segment
// timeline, text; a bundle's parts side by side, with a before/after slider for two images.
import "img-comparison-slider";
import { useQuery } from "@tanstack/react-query";
import type { TaxonomyClass } from "./ClassPicker";
import type { Registry } from "./commands";
import { ImageRegions } from "./ImageRegions";
import { Timeline } from "./Timeline";
import type { Label, Part } from "./types";

declare module "react" {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace JSX {
    interface IntrinsicElements {
      "img-comparison-slider": React.DetailedHTMLProps<React.HTMLAttributes<HTMLElement>, HTMLElement> & { value?: string };
    }
  }
}

export interface MediaProps {
  parts: Part[];
  labels: Label[];
  prelabels: Label[];
  classes: TaxonomyClass[];
  onLabels: (labels: Label[]) => void;
  registry: Registry;
  editable: boolean;
  /** the label shapes the rubric asks for */
  shapes: string[];
}

export function MediaView(props: MediaProps) {
  const { parts } = props;
  const images = parts.filter((p) => p.media.modality === "image" && p.link?.url);
  return (
    <div className={parts.length > 1 ? "bundle" : undefined}>
      {images.length === 2 && parts.length > 1 ? (
        <figure>
          <img-comparison-slider tabIndex={0} style={{ width: "min(100%, 680px)" }} aria-label={`before and after: ${images[0].role} and ${images[1].role}; arrow keys move the divider`}>
            <img slot="first" src={images[0].link!.url!} alt={images[0].role} style={{ width: "100%" }} />
            <img slot="second" src={images[1].link!.url!} alt={images[1].role} style={{ width: "100%" }} />
          </img-comparison-slider>
          <figcaption>
            Before / after: {images[0].role} | {images[1].role}
          </figcaption>
        </figure>
      ) : null}
      {parts.map((part, k) => (
        <section key={part.name ?? k} aria-label={parts.length > 1 ? `part ${part.name}: ${part.role}` : `the ${part.media.modality}`}>
          {parts.length > 1 ? (
            <h3>
              {part.name} <span className="anchor">({part.role})</span>
            </h3>
          ) : null}
          <OnePart {...props} part={part} />
        </section>
      ))}
    </div>
  );
}

function OnePart({ part, labels, prelabels, classes, onLabels, registry, editable, shapes }: MediaProps & { part: Part }) {
  const url = part.link?.url;
  if (!url) {
    return <p role="note">This media cannot be shown here ({part.media.uri.split(":")[0]}:// is not served to browsers by this deployment).</p>;
  }
  const m = part.media;
  if (m.modality === "image") {
    return (
      <ImageRegions
        url={url}
        width={m.width ?? 640}
        height={m.height ?? 480}
        part={part.name}
        labels={labels}
        prelabels={prelabels}
        classes={classes}
        onChange={onLabels}
        registry={registry}
        editable={editable}
        shapes={shapes}
      />
    );
  }
  if (m.modality === "video" || m.modality === "audio") {
    return (
      <Timeline
        kind={m.modality}
        url={url}
        peaksUrl={part.link?.peaks_url}
        duration={m.duration_s ?? 1}
        part={part.name}
        labels={labels}
        prelabels={prelabels}
        classes={classes}
        onChange={onLabels}
        registry={registry}
        editable={editable && shapes.includes("segment")}
      />
    );
  }
  return <TextPart url={url} language={m.language} />;
}

function TextPart({ url, language }: { url: string; language?: string }) {
  const text = useQuery({
    queryKey: ["text", url],
    queryFn: async () => {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`the text could not be fetched (HTTP ${r.status})`);
      return r.text();
    },
    staleTime: Infinity,
  });
  if (text.isPending) return <p role="status">Loading the text…</p>;
  if (text.isError) return <p role="alert">{text.error.message}</p>;
  return (
    <div className="media-text" lang={language} tabIndex={0} aria-label="text of the unit">
      {text.data}
    </div>
  );
}
