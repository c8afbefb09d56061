// Agreement per field (verdict, severity, each rating dimension, each flag, class and each
// class one-vs-rest, as the body names them) with the 95 % intervals: metrics
// GET /v1/projects/{id}/agreement, kept current by the live stream (useAgreementStream puts each
// event's figures in this query's cache), polled while the stream is not live.
import { useQuery } from "@tanstack/react-query";
import { useId, useMemo, useState } from "react";
import { categoryHeight, categoryZoom, Chart, intervalSeries, VISIBLE_CATEGORIES, type ChartOption } from "./Chart";
import type { ActiveFilters } from "./filters";
import { count, interval, num, shortReason } from "./format";
import { colour } from "./palette";
import { Panel, QueryView } from "./Panel";
import { fetchAgreement, keys, retryServerErrors, type Estimate, type FieldAgreement, type ProjectAgreement } from "./queries";

interface Row {
  statistic: string;
  estimate: Estimate;
}

const FIGURE_NAMES: Record<string, string> = {
  fleiss_kappa: "Fleiss' kappa",
  gwet_ac1: "Gwet's AC1",
  percent_agreement: "Percent agreement",
};

/** Fields in reading order: the judgment's own fields, then dimensions, flags, classes. */
function fieldOrder(name: string): [number, string] {
  if (name === "verdict") return [0, name];
  if (name === "severity") return [1, name];
  if (name === "class") return [2, name];
  if (name.startsWith("rating.")) return [3, name];
  if (name.startsWith("flag.")) return [4, name];
  if (name.startsWith("class.")) return [5, name];
  return [6, name];
}

export function sortedFields(fields: Record<string, FieldAgreement>): [string, FieldAgreement][] {
  return Object.entries(fields).sort(([a], [b]) => {
    const [ra, na] = fieldOrder(a);
    const [rb, nb] = fieldOrder(b);
    return ra - rb || na.localeCompare(nb);
  });
}

function rows(field: FieldAgreement): Row[] {
  const out: Row[] = [];
  for (const [level, estimate] of Object.entries(field.krippendorff_alpha)) {
    out.push({ statistic: `Krippendorff's alpha (${level})`, estimate });
  }
  out.push({ statistic: FIGURE_NAMES.fleiss_kappa, estimate: field.fleiss_kappa });
  out.push({ statistic: FIGURE_NAMES.gwet_ac1, estimate: field.gwet_ac1 });
  for (const [weights, estimate] of Object.entries(field.gwet_ac2 ?? {})) {
    out.push({ statistic: `Gwet's AC2 (${weights} weights)`, estimate });
  }
  out.push({ statistic: FIGURE_NAMES.percent_agreement, estimate: field.percent_agreement });
  return out;
}

/** The level whose alpha is the field's headline: its own level, else the first given. */
function headlineLevel(field: FieldAgreement): string | null {
  return field.level in field.krippendorff_alpha ? field.level : (Object.keys(field.krippendorff_alpha)[0] ?? null);
}

/** Krippendorff's alpha at the field's own level (the chart's figure). */
function headline(field: FieldAgreement): Estimate | null {
  const level = headlineLevel(field);
  return level === null ? null : field.krippendorff_alpha[level];
}

interface Primary {
  statistic: string;
  estimate: Estimate;
  /** Why alpha is not the figure shown (percent agreement stands in for it). */
  note: string | null;
}

/** The figure a field's row shows: alpha at its level; percent agreement when alpha has no value. */
export function primary(field: FieldAgreement): Primary {
  const alpha = headline(field);
  const alphaName = `Krippendorff's alpha (${headlineLevel(field) ?? field.level})`;
  if (alpha && alpha.value !== null) return { statistic: alphaName, estimate: alpha, note: null };
  if (field.percent_agreement.value !== null || !alpha) {
    return {
      statistic: FIGURE_NAMES.percent_agreement,
      estimate: field.percent_agreement,
      note: alpha ? `alpha has no value: ${shortReason(alpha.reason)}` : null,
    };
  }
  return { statistic: alphaName, estimate: alpha, note: null };
}

const GROUPS: { title: string; test: (name: string) => boolean }[] = [
  { title: "Judgment fields", test: (n) => !n.startsWith("rating.") && !n.startsWith("flag.") && !n.startsWith("class.") },
  { title: "Rating dimensions", test: (n) => n.startsWith("rating.") },
  { title: "Flags", test: (n) => n.startsWith("flag.") },
  { title: "Classes, each against the rest", test: (n) => n.startsWith("class.") },
];

export function AgreementPanel({ filters, polling }: { filters: ActiveFilters; polling: boolean }) {
  const query = useQuery({
    queryKey: keys.agreement(filters),
    queryFn: ({ signal }) => fetchAgreement(filters, signal),
    refetchInterval: polling ? 5_000 : false,
    retry: retryServerErrors,
  });
  return (
    <Panel id="agreement" title="Agreement per field">
      <QueryView
        query={query}
        empty="No judgment in this project yet (for these filters): agreement needs two judgments of an item."
        isEmpty={(d) => Object.keys(d.fields).length === 0}
      >
        {(data) => <AgreementView data={data} />}
      </QueryView>
    </Panel>
  );
}

function AgreementView({ data }: { data: ProjectAgreement }) {
  const fields = useMemo(() => sortedFields(data.fields), [data]);
  const option = useMemo<ChartOption>(() => {
    const names = fields.map(([name]) => name);
    const values = fields.map(([, f]) => headline(f)?.value ?? null);
    const whiskers = fields.flatMap(([, f], i) => {
      const ci = headline(f)?.ci;
      return ci ? [[i, ci[0], ci[1]] as const] : [];
    });
    const zoom = categoryZoom(fields.length);
    return {
      grid: { left: 8, right: zoom.dataZoom ? 40 : 24, top: 32, bottom: 24, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: "axis" },
      yAxis: { type: "category", data: names, inverse: true, axisLabel: { width: 150, overflow: "truncate" } },
      xAxis: { type: "value", name: "alpha", max: 1 },
      ...zoom,
      series: [
        {
          type: "bar",
          name: "Krippendorff's alpha (field's level)",
          data: values,
          label: { show: true, position: "insideRight", formatter: (p) => num(p.value as number, 2) },
        },
        intervalSeries("95 % interval", whiskers, true),
        {
          type: "line",
          name: "0.667 threshold",
          data: [],
          markLine: {
            symbol: "none",
            lineStyle: { color: colour("vermillion"), type: "dashed" },
            label: { formatter: "0.667" },
            data: [{ xAxis: 0.667 }],
          },
        },
      ],
    };
  }, [fields]);
  const label =
    `Krippendorff's alpha per field with 95 % intervals; dashed line at 0.667, the lowest acceptable: ` +
    fields
      .map(([name, f]) => {
        const h = headline(f);
        return `${name} ${num(h?.value ?? null, 2)}${h?.ci ? ` (${interval(h.ci, 2)})` : ""}`;
      })
      .join("; ");
  const groups = GROUPS.map((g) => ({ title: g.title, fields: fields.filter(([name]) => g.test(name)) })).filter((g) => g.fields.length > 0);
  const grouped = groups.length > 1;
  return (
    <>
      <p className="anchor">
        {data.window ? `Judgments of the last ${data.window}` : "All judgments"}
        {data.rubric_version !== null ? `, rubric version ${data.rubric_version}` : ", every rubric version"}.
        {fields.length > VISIBLE_CATEGORIES ? ` The chart shows ${VISIBLE_CATEGORIES} fields at a time (scroll it); the table lists all ${fields.length}.` : ""}
      </p>
      <Chart option={option} label={label} height={categoryHeight(fields.length, 12)} />
      <table className="data agreement" aria-label="Agreement by field">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Statistic</th>
            <th scope="col">Value</th>
            <th scope="col">95 % interval</th>
            <th scope="col">Items / judgments</th>
          </tr>
        </thead>
        {groups.map((group) => (
          <tbody key={group.title}>
            {grouped ? (
              <tr className="group">
                <th scope="rowgroup" colSpan={5}>
                  {group.title}
                </th>
              </tr>
            ) : null}
            {group.fields.map(([name, field]) => {
              const p = primary(field);
              const e = p.estimate;
              return (
                <tr key={name} data-field={name}>
                  <th scope="row">
                    {name}
                    <span className="sub">
                      {field.level}, {count(field.experts)} experts
                    </span>
                  </th>
                  <td>{p.statistic}</td>
                  <td>
                    {e.value === null ? (
                      <>
                        no value<span className="sub">{shortReason(e.reason)}</span>
                      </>
                    ) : (
                      <>
                        <span className="nowrap">{num(e.value)}</span>
                        {p.note ? <span className="sub">{p.note}</span> : null}
                      </>
                    )}
                  </td>
                  <td>{e.ci ? interval(e.ci) : "none"}</td>
                  <td className="num">
                    {count(field.items)} / {count(field.judgments)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        ))}
      </table>
      <AllStatistics fields={fields} />
    </>
  );
}

/** Every statistic of one field (chosen in a select), behind a disclosure. */
function AllStatistics({ fields }: { fields: [string, FieldAgreement][] }) {
  const id = useId();
  const [chosen, setChosen] = useState<string | null>(null);
  const entry = fields.find(([name]) => name === chosen) ?? fields[0];
  if (!entry) return null;
  const [name, field] = entry;
  return (
    <details className="statistics">
      <summary>Every statistic of a field (alpha at each level, Fleiss' kappa, Gwet's AC1 and AC2, percent agreement)</summary>
      <label htmlFor={`${id}-field`}>
        Field
        <select id={`${id}-field`} value={name} onChange={(event) => setChosen(event.target.value)}>
          {fields.map(([n]) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <table className="data">
        <caption>
          Statistics of {name} ({field.level}; {count(field.items)} items, {count(field.judgments)} judgments, {count(field.experts)} experts)
        </caption>
        <thead>
          <tr>
            <th scope="col">Statistic</th>
            <th scope="col">Value</th>
            <th scope="col">95 % interval</th>
            <th scope="col">n</th>
          </tr>
        </thead>
        <tbody>
          {rows(field).map((row) => (
            <tr key={row.statistic}>
              <th scope="row">{row.statistic}</th>
              <td>{row.estimate.value === null ? `no value${row.estimate.reason ? `: ${row.estimate.reason}` : ""}` : num(row.estimate.value)}</td>
              <td>{interval(row.estimate.ci)}</td>
              <td className="num">{count(row.estimate.n)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
