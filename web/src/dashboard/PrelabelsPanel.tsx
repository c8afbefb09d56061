// Pre-label error by class and the model's reliability curve: metrics
// GET /v1/projects/{id}/prelabels (per model version: each class's error rate with its Wilson
// interval and Fisher / Benjamini–Hochberg test, and the calibration in 10 confidence buckets).
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { categoryHeight, categoryZoom, Chart, intervalSeries, type ChartOption } from "./Chart";
import { Fig } from "./Figure";
import { count, figure, num, percent, shortReason } from "./format";
import { colour } from "./palette";
import { Panel, QueryView } from "./Panel";
import { fetchPrelabels, keys, retryServerErrors, type ModelPrelabels } from "./queries";

export function PrelabelsPanel({ project }: { project: string }) {
  const query = useQuery({
    queryKey: keys.prelabels(project),
    queryFn: ({ signal }) => fetchPrelabels(project, signal),
    retry: retryServerErrors,
  });
  return (
    <Panel id="prelabels" title="Pre-label error by class">
      <QueryView
        query={query}
        empty="No pre-labelled item of this project has been resolved yet."
        isEmpty={(d) => d.models.length === 0}
      >
        {(data) => (
          <>
            {data.models.map((m) => (
              <ModelView key={`${m.model} ${m.version}`} model={m} />
            ))}
          </>
        )}
      </QueryView>
    </Panel>
  );
}

function ModelView({ model }: { model: ModelPrelabels }) {
  const classes = model.classes;
  const errorOption = useMemo<ChartOption>(() => {
    const whiskers = classes.flatMap((c, i) => (c.rate.ci ? [[i, c.rate.ci[0], c.rate.ci[1]] as const] : []));
    const zoom = categoryZoom(classes.length);
    return {
      legend: { top: 0 },
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: zoom.dataZoom ? 40 : 24, top: 32, bottom: 24, containLabel: true },
      ...zoom,
      yAxis: {
        type: "category",
        data: classes.map((c) => (c.alert ? `${c.class_id} (alert)` : c.class_id)),
        inverse: true,
        axisLabel: { width: 150, overflow: "truncate" },
      },
      xAxis: { type: "value", name: "error rate", min: 0, max: 1, axisLabel: { formatter: (v: number) => `${Math.round(v * 100)} %` } },
      series: [
        {
          type: "bar",
          name: "Error rate",
          data: classes.map((c) => ({
            value: c.rate.value,
            itemStyle: c.alert ? { color: colour("vermillion") } : undefined,
          })),
          label: { show: true, position: "insideRight", formatter: (p) => percent(p.value as number, 0) },
          markLine:
            model.overall.value === null
              ? undefined
              : {
                  symbol: "none",
                  lineStyle: { type: "dashed" },
                  label: { formatter: "overall" },
                  data: [{ xAxis: model.overall.value }],
                },
        },
        intervalSeries("95 % interval", whiskers, true),
      ],
    };
  }, [classes, model.overall.value]);

  const buckets = useMemo(
    () => model.calibration.buckets.filter((b) => b.n > 0 && b.mean_confidence !== null && b.accuracy.value !== null),
    [model.calibration.buckets],
  );
  const reliabilityOption = useMemo<ChartOption>(
    () => ({
      legend: { top: 0 },
      tooltip: { trigger: "item" },
      grid: { left: 8, right: 24, top: 32, bottom: 24, containLabel: true },
      xAxis: { type: "value", name: "confidence", min: 0, max: 1 },
      yAxis: { type: "value", name: "accuracy", min: 0, max: 1 },
      series: [
        {
          type: "line",
          name: "Perfect calibration",
          data: [
            [0, 0],
            [1, 1],
          ],
          showSymbol: false,
          lineStyle: { type: "dashed", color: "#555" },
          itemStyle: { color: "#555" },
        },
        {
          type: "line",
          name: "Observed accuracy",
          data: buckets.map((b) => [b.mean_confidence!, b.accuracy.value!]),
          symbolSize: 8,
        },
        intervalSeries(
          "95 % interval",
          buckets.flatMap((b) => (b.accuracy.ci ? [[b.mean_confidence!, b.accuracy.ci[0], b.accuracy.ci[1]] as const] : [])),
        ),
      ],
    }),
    [buckets],
  );

  const errorLabel =
    `Pre-label error rate per class for ${model.model} ${model.version}, with 95 % intervals; overall ${percent(model.overall.value)}: ` +
    classes.map((c) => `${c.class_id} ${percent(c.rate.value)}${c.alert ? " (alert)" : ""}`).join("; ");
  const reliabilityLabel =
    `Reliability curve of ${model.model} ${model.version}: accuracy against mean confidence per bucket, the diagonal is perfect calibration; ` +
    `expected calibration error ${num(model.calibration.ece)}: ` +
    buckets.map((b) => `confidence ${num(b.mean_confidence, 2)} accuracy ${percent(b.accuracy.value)} (${b.n})`).join("; ");

  return (
    <>
      <h3>
        Model {model.model} {model.version}
      </h3>
      <p>
        Overall error {figure(model.overall, true)} over {count(model.n)} pre-labelled classes; {model.tested} classes tested ({model.test},
        at least {model.min_count} items, false discovery rate {num(model.alpha, 2)});{" "}
        {model.alerts.length ? `alerts: ${model.alerts.join(", ")}` : "no class alerts"}.
        {model.reason ? ` ${model.reason}` : ""}
      </p>
      {classes.length > 0 ? (
        <>
          <Chart option={errorOption} label={errorLabel} height={categoryHeight(classes.length)} />
          <table className="data">
            <caption>Error by class</caption>
            <thead>
              <tr>
                <th scope="col">Class</th>
                <th scope="col">Errors / items</th>
                <th scope="col">Error rate (95 % interval)</th>
                <th scope="col">Other classes</th>
                <th scope="col">q-value</th>
                <th scope="col">Alert</th>
              </tr>
            </thead>
            <tbody>
              {classes.map((c) => (
                <tr key={c.class_id}>
                  <th scope="row">{c.class_id}</th>
                  <td className="num">
                    {count(c.errors)} / {count(c.n)}
                  </td>
                  <td>
                    <Fig estimate={c.rate} asPercent />
                  </td>
                  <td className="num">{percent(c.others_rate.value)}</td>
                  <td>{c.q_value === null ? (c.reason ? shortReason(c.reason) : "not tested") : num(c.q_value, 4)}</td>
                  <td>{c.alert ? "Yes" : "No"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {classes.some((c) => c.examples.length > 0) ? (
            <details>
              <summary>Example items of each class</summary>
              <ul>
                {classes
                  .filter((c) => c.examples.length > 0)
                  .map((c) => (
                    <li key={c.class_id}>
                      {c.class_id}: {c.examples.join(", ")}
                    </li>
                  ))}
              </ul>
            </details>
          ) : null}
        </>
      ) : null}
      <h4>Reliability</h4>
      {buckets.length > 0 ? (
        <>
          <p>
            Expected calibration error {num(model.calibration.ece)}, maximum {num(model.calibration.mce)} over {count(model.calibration.n)}{" "}
            confidences.
          </p>
          <Chart option={reliabilityOption} label={reliabilityLabel} height="16rem" />
          <table className="data">
            <caption>Calibration by confidence bucket</caption>
            <thead>
              <tr>
                <th scope="col">Confidence</th>
                <th scope="col">Pre-labels</th>
                <th scope="col">Mean confidence</th>
                <th scope="col">Accuracy (95 % interval)</th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((b) => (
                <tr key={b.low}>
                  <th scope="row">
                    {num(b.low, 1)} to {num(b.high, 1)}
                  </th>
                  <td className="num">{count(b.n)}</td>
                  <td className="num">{num(b.mean_confidence, 2)}</td>
                  <td>
                    <Fig estimate={b.accuracy} asPercent />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : (
        <p className="empty">{model.calibration.reason ?? "No confidence was given with these pre-labels: no reliability curve."}</p>
      )}
    </>
  );
}
