//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external
//! resources) with the summary and the plots: nodes by group with scale events marked, pending
//! pods, utilization, cost over time. `compare` puts two runs on one page.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::svg::{Chart, Marker, PALETTE, Series};
use crate::metrics::{RunResult, ScaleEventKind};

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1140px;color:#222;background:#fff}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}p.sub{color:#555;margin:0 0 16px}\
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 12px 3px 0;text-align:left;vertical-align:top}\
th{border-bottom:1px solid #ccc}tr.diff td{background:#fff6d5}.chart{margin:10px 0 18px}\
.legend span{display:inline-block;margin-right:16px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}\
.events{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;max-height:320px;overflow:auto;border:1px solid #eee;padding:6px}";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn marker_color(kind: ScaleEventKind) -> &'static str {
    match kind {
        ScaleEventKind::AddWorker | ScaleEventKind::GroupCreated => "#009E73",
        ScaleEventKind::DeleteWorker | ScaleEventKind::Drain => "#D55E00",
        ScaleEventKind::AddFailed | ScaleEventKind::DrainFailed | ScaleEventKind::DeleteFailed => {
            "#E69F00"
        }
        ScaleEventKind::NodeDied => "#000000",
    }
}

fn markers(r: &RunResult) -> Vec<Marker> {
    r.events
        .iter()
        .filter(|e| e.kind != ScaleEventKind::Drain)
        .map(|e| Marker {
            at: e.at_ms,
            color: marker_color(e.kind),
            label: format!(
                "{} {} {}",
                crate::scenario::duration::format_duration(e.at_ms),
                e.kind.as_str(),
                e.subject
            ),
        })
        .collect()
}

fn x_max(r: &RunResult) -> i64 {
    (r.report.simulated_seconds * 1000.0) as i64
}

fn page(title: &str, subtitle: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1><p class=\"sub\">{s}</p>{body}</body></html>\n",
        t = escape(title),
        s = escape(subtitle)
    )
}

fn legend() -> String {
    let items = [
        ("#009E73", "worker added"),
        ("#D55E00", "worker deleted"),
        ("#E69F00", "failed add/drain/delete"),
        ("#000000", "node died"),
    ];
    let mut out = String::from("<div class=\"legend\">Markers: ");
    for (c, l) in items {
        let _ = write!(out, "<span><i style=\"background:{c}\"></i>{l}</span>");
    }
    out.push_str("</div>");
    out
}

/// The page of one run.
pub fn single(r: &RunResult) -> String {
    let mut body = String::new();
    body.push_str("<h2>Summary</h2><table>");
    for (k, v) in super::rows(&r.report) {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(k),
            escape(&v)
        );
    }
    body.push_str("</table>");
    let xm = x_max(r);
    let groups: BTreeSet<&str> = r
        .samples
        .iter()
        .flat_map(|s| s.nodes_by_group.keys().map(String::as_str))
        .collect();
    let mut series: Vec<Series> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| Series {
            name: (*g).to_string(),
            color: PALETTE[i % PALETTE.len()],
            points: r
                .samples
                .iter()
                .map(|s| {
                    (
                        s.at,
                        f64::from(s.nodes_by_group.get(*g).copied().unwrap_or(0)),
                    )
                })
                .collect(),
            step: true,
            dashed: false,
        })
        .collect();
    if groups.len() > 1 {
        series.push(Series {
            name: "total".into(),
            color: "#777777",
            points: r
                .samples
                .iter()
                .map(|s| (s.at, f64::from(s.total_nodes())))
                .collect(),
            step: true,
            dashed: true,
        });
    }
    series.push(Series {
        name: "being provisioned".into(),
        color: "#999999",
        points: r
            .samples
            .iter()
            .map(|s| (s.at, f64::from(s.in_flight)))
            .collect(),
        step: true,
        dashed: true,
    });
    body.push_str("<h2>Nodes by group</h2>");
    body.push_str(&legend());
    push_chart(
        &mut body,
        Chart {
            title: "Nodes by group".into(),
            y_label: "nodes".into(),
            x_max: xm,
            series,
            markers: markers(r),
            percent: false,
        },
    );
    push_chart(
        &mut body,
        Chart {
            title: "Pending pods".into(),
            y_label: "pods".into(),
            x_max: xm,
            series: vec![Series {
                name: "pending".into(),
                color: PALETTE[3],
                points: r
                    .samples
                    .iter()
                    .map(|s| (s.at, f64::from(s.pending_pods)))
                    .collect(),
                step: true,
                dashed: false,
            }],
            markers: markers(r),
            percent: false,
        },
    );
    push_chart(
        &mut body,
        Chart {
            title: "Utilization (requested / allocatable of Ready nodes)".into(),
            y_label: "utilization".into(),
            x_max: xm,
            series: vec![
                Series {
                    name: "cpu".into(),
                    color: PALETTE[0],
                    points: r
                        .samples
                        .iter()
                        .map(|s| (s.at, s.cpu_utilization))
                        .collect(),
                    step: false,
                    dashed: false,
                },
                Series {
                    name: "memory".into(),
                    color: PALETTE[1],
                    points: r
                        .samples
                        .iter()
                        .map(|s| (s.at, s.memory_utilization))
                        .collect(),
                    step: false,
                    dashed: false,
                },
            ],
            markers: Vec::new(),
            percent: true,
        },
    );
    push_chart(
        &mut body,
        Chart {
            title: "Cost so far (USD)".into(),
            y_label: "USD".into(),
            x_max: xm,
            series: vec![Series {
                name: "cost".into(),
                color: PALETTE[2],
                points: r.samples.iter().map(|s| (s.at, s.cost_usd)).collect(),
                step: false,
                dashed: false,
            }],
            markers: Vec::new(),
            percent: false,
        },
    );
    push_events(&mut body, r);
    page(
        &format!("vpsie-sim: {}", r.report.scenario),
        &format!(
            "seed {} · {} simulated · total cost ${:.2} · {} VPS orphaned",
            r.report.seed,
            crate::scenario::duration::format_duration(xm),
            r.report.total_cost_usd,
            r.report.vps_orphaned
        ),
        &body,
    )
}

fn push_chart(body: &mut String, chart: Chart) {
    body.push_str("<div class=\"chart\">");
    body.push_str(&chart.render());
    body.push_str("</div>");
}

fn push_events(body: &mut String, r: &RunResult) {
    let _ = write!(
        body,
        "<h2>Scale events ({})</h2><div class=\"events\">",
        r.events.len()
    );
    for e in &r.events {
        let _ = write!(
            body,
            "{} {} {}<br>",
            crate::scenario::duration::format_duration(e.at_ms),
            e.kind.as_str(),
            escape(&e.subject)
        );
    }
    body.push_str("</div>");
}

/// Two runs of one scenario on one page: the summary side by side, the plots overlaid
/// (first configuration solid, second dashed).
pub fn compare(labels: [&str; 2], a: &RunResult, b: &RunResult) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h2>Summary</h2><table><tr><th></th><th>{}</th><th>{}</th></tr>",
        escape(labels[0]),
        escape(labels[1])
    );
    for ((k, va), (_, vb)) in super::rows(&a.report)
        .into_iter()
        .zip(super::rows(&b.report))
    {
        let class = if va != vb { " class=\"diff\"" } else { "" };
        let _ = write!(
            body,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(k),
            escape(&va),
            escape(&vb)
        );
    }
    body.push_str("</table>");
    let xm = x_max(a).max(x_max(b));
    type Pick = fn(&crate::metrics::Sample) -> f64;
    let plots: [(&str, &str, Pick, bool, bool); 4] = [
        (
            "Nodes (total)",
            "nodes",
            |s| f64::from(s.total_nodes()),
            true,
            false,
        ),
        (
            "Pending pods",
            "pods",
            |s| f64::from(s.pending_pods),
            true,
            false,
        ),
        (
            "CPU utilization",
            "utilization",
            |s| s.cpu_utilization,
            false,
            true,
        ),
        ("Cost so far (USD)", "USD", |s| s.cost_usd, false, false),
    ];
    for (title, y, pick, step, percent) in plots {
        let series = [
            (labels[0], a, false, PALETTE[0]),
            (labels[1], b, true, PALETTE[3]),
        ]
        .into_iter()
        .map(|(name, r, dashed, color)| Series {
            name: name.to_string(),
            color,
            points: r.samples.iter().map(|s| (s.at, pick(s))).collect(),
            step,
            dashed,
        })
        .collect();
        push_chart(
            &mut body,
            Chart {
                title: title.into(),
                y_label: y.into(),
                x_max: xm,
                series,
                markers: Vec::new(),
                percent,
            },
        );
    }
    page(
        &format!("vpsie-sim compare: {}", a.report.scenario),
        &format!(
            "{} (solid) vs {} (dashed), seed {}",
            labels[0], labels[1], a.report.seed
        ),
        &body,
    )
}
