//! A small inline-SVG line chart: axes with round ticks, several series, vertical markers.
//! No scripts, no external resources; deterministic text output.

use std::fmt::Write as _;

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    /// (x in milliseconds, y).
    pub points: Vec<(i64, f64)>,
    /// Draw as steps (counts) rather than straight segments.
    pub step: bool,
    pub dashed: bool,
}

/// A vertical marker (a scale event).
#[derive(Debug, Clone)]
pub struct Marker {
    pub at: i64,
    pub color: &'static str,
    pub label: String,
}

/// A chart.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub y_label: String,
    pub x_max: i64,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
    /// Fix the y range to [0, 1] (fractions shown as percent).
    pub percent: bool,
}

const W: f64 = 1100.0;
const H: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 34.0;

/// Series colours, colour-blind friendly (Okabe-Ito).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" tick step for a range (1, 2 or 5 × a power of ten).
fn nice_step(range: f64, ticks: f64) -> f64 {
    let raw = (range / ticks).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn fmt_hours(ms: i64) -> String {
    let minutes = ms / 60_000;
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

fn fmt_y(v: f64, percent: bool) -> String {
    if percent {
        format!("{:.0}%", v * 100.0)
    } else if v.abs() >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Chart {
    /// Renders the chart as an `<svg>` element.
    pub fn render(&self) -> String {
        let y_max_data = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0f64, f64::max);
        let (y_max, y_step) = if self.percent {
            (1.0, 0.25)
        } else {
            let step = nice_step(y_max_data.max(1.0), 4.0);
            (((y_max_data / step).ceil().max(1.0)) * step, step)
        };
        let x_max = self.x_max.max(1) as f64;
        let pw = W - LEFT - RIGHT;
        let ph = H - TOP - BOTTOM;
        let sx = |x: i64| LEFT + (x as f64 / x_max) * pw;
        let sy = |y: f64| TOP + ph - (y / y_max).clamp(0.0, 1.05) * ph;
        let mut out = String::new();
        let _ = write!(
            out,
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{t}">"##,
            t = escape(&self.title)
        );
        let _ = write!(
            out,
            r##"<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{}</text>"##,
            escape(&self.title)
        );
        let _ = write!(
            out,
            r##"<text x="12" y="{}" font-size="11" transform="rotate(-90 12 {})" text-anchor="middle" fill="#555">{}</text>"##,
            TOP + ph / 2.0,
            TOP + ph / 2.0,
            escape(&self.y_label)
        );
        // Grid and y ticks.
        let mut y = 0.0;
        while y <= y_max + y_step * 0.01 {
            let py = sy(y);
            let _ = write!(
                out,
                r##"<line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end" fill="#555">{}</text>"##,
                W - RIGHT,
                LEFT - 6.0,
                py + 3.5,
                fmt_y(y, self.percent)
            );
            y += y_step;
        }
        // X ticks in hours:minutes.
        let hour = 3_600_000i64;
        let x_step = {
            let hours = (self.x_max as f64 / hour as f64).max(0.01);
            let step_h = nice_step(hours, 8.0);
            ((step_h * hour as f64) as i64).max(60_000)
        };
        let mut x = 0i64;
        while x <= self.x_max {
            let px = sx(x);
            let _ = write!(
                out,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{:.1}" stroke="#f0f0f0"/><text x="{px:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#555">{}</text>"##,
                TOP + ph,
                TOP + ph + 14.0,
                fmt_hours(x)
            );
            x += x_step;
        }
        let _ = write!(
            out,
            r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>"##
        );
        // Markers under the lines.
        for m in &self.markers {
            let px = sx(m.at);
            let _ = write!(
                out,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{:.1}" stroke="{}" stroke-opacity="0.55" stroke-width="1"><title>{}</title></line>"##,
                TOP + ph,
                m.color,
                escape(&m.label)
            );
        }
        for s in &self.series {
            if s.points.is_empty() {
                continue;
            }
            let mut d = String::new();
            let mut prev_y: Option<f64> = None;
            for (i, &(x, y)) in s.points.iter().enumerate() {
                let (px, py) = (sx(x), sy(y));
                if i == 0 {
                    let _ = write!(d, "M{px:.1},{py:.1}");
                } else if s.step {
                    let _ = write!(d, "L{px:.1},{:.1}L{px:.1},{py:.1}", prev_y.unwrap_or(py));
                } else {
                    let _ = write!(d, "L{px:.1},{py:.1}");
                }
                prev_y = Some(py);
            }
            let dash = if s.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = write!(
                out,
                r##"<path d="{d}" fill="none" stroke="{}" stroke-width="1.8"{dash}><title>{}</title></path>"##,
                s.color,
                escape(&s.name)
            );
        }
        // Legend.
        // Legend to the right of the title (7 px per character of the bold title is ample).
        let mut lx = LEFT + 24.0 + 7.5 * self.title.chars().count() as f64;
        for s in &self.series {
            let dash = if s.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = write!(
                out,
                r##"<line x1="{lx:.1}" x2="{:.1}" y1="14" y2="14" stroke="{}" stroke-width="2.5"{dash}/><text x="{:.1}" y="18" font-size="11">{}</text>"##,
                lx + 18.0,
                s.color,
                lx + 22.0,
                escape(&s.name)
            );
            lx += 30.0 + 6.5 * s.name.len() as f64;
        }
        out.push_str("</svg>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10.0, 4.0), 5.0);
        assert_eq!(nice_step(100.0, 4.0), 50.0);
        assert_eq!(nice_step(7.0, 4.0), 2.0);
    }

    #[test]
    fn renders_escaped_self_contained_svg() {
        let c = Chart {
            title: "a < b".into(),
            y_label: "n".into(),
            x_max: 3_600_000,
            series: vec![Series {
                name: "s".into(),
                color: PALETTE[0],
                points: vec![(0, 1.0), (3_600_000, 3.0)],
                step: true,
                dashed: false,
            }],
            markers: vec![],
            percent: false,
        };
        let svg = c.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a &lt; b"));
        assert!(!svg.contains("<script"));
    }
}
