//! The HTML pages: the form, the result with its inline-SVG bar chart, and what would move it.
//! No scripts and no external assets: the page is one self-contained document.

use std::collections::HashMap;
use std::fmt::Write;

use crate::error::RequestError;
use crate::explain::{describe, Explanation, TOP};
use crate::fields::{display_value, FormField, FIELDS, PITCHES};
use crate::most_likely;
use dataset::validate::Range;
use spotify_ml::popularity::{SongInput, QUARTILES};

/// Changes smaller than this (half a percentage point) are not worth showing.
const MIN_GAIN: f64 = 0.005;
/// At most this many changes are shown.
const MAX_CHANGES: usize = 5;

/// The form's values as text, exactly as entered (or as filled), by field name.
#[derive(Clone, Debug, Default)]
pub(crate) struct FormValues(HashMap<String, String>);

impl FormValues {
    /// The values of a song.
    pub(crate) fn from_song(song: &SongInput) -> FormValues {
        let mut values: HashMap<String, String> = song
            .numeric_fields()
            .into_iter()
            .map(|(name, value, _)| (name.to_string(), format!("{value}")))
            .collect();
        values.insert("genre".into(), song.genre.clone());
        FormValues(values)
    }

    /// The values a form sent; the first of repeated names wins.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> FormValues {
        let mut values = HashMap::new();
        for (name, value) in pairs {
            values.entry(name.clone()).or_insert_with(|| value.clone());
        }
        FormValues(values)
    }

    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

/// The result shown next to the form.
pub(crate) struct Outcome<'a> {
    pub song: &'a SongInput,
    pub probabilities: [f64; 4],
    pub explanation: &'a Explanation,
    pub set: Option<crate::PredictionSet>,
}

/// The track-id box: shown when a feature source is configured.
pub(crate) struct TrackBox<'a> {
    pub enabled: bool,
    pub text: &'a str,
}

/// One page of the app.
pub(crate) struct Page<'a> {
    pub genres: &'a [String],
    pub values: &'a FormValues,
    pub error: Option<&'a RequestError>,
    pub notice: Option<String>,
    pub track: TrackBox<'a>,
    pub outcome: Option<Outcome<'a>>,
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn percent(p: f64) -> String {
    format!("{:.0}%", p * 100.0)
}

/// A number for a hint: `0`, `1`, `-60`, `36,000,000`.
fn hint_number(value: f64) -> String {
    let text = format!("{value}");
    if value.abs() < 10_000.0 {
        return text.replace('-', "−");
    }
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

impl Page<'_> {
    /// The whole document.
    pub(crate) fn render(&self) -> String {
        let mut html = String::with_capacity(24 * 1024);
        html.push_str(HEAD);
        html.push_str(
            "<header><h1>How popular could this song be?</h1>\
             <p>Enter a song’s audio features as Spotify’s Web API reports them, its artist’s \
             popularity and its genre. The model estimates which popularity quartile the song \
             reaches on Spotify’s 0–100 scale, and what would move it.</p></header>\n\
             <main class=\"layout\">\n<section class=\"card\">",
        );
        self.track_box(&mut html);
        if let Some(notice) = &self.notice {
            let _ = write!(html, "<p class=\"notice\" id=\"notice\">{notice}</p>");
        }
        if let Some(error) = self.error {
            let _ = write!(
                html,
                "<p class=\"banner\" id=\"error\" role=\"alert\">{}</p>",
                escape(&error.message())
            );
        }
        self.form(&mut html);
        html.push_str("</section>\n<section class=\"card result\" id=\"result\">");
        match &self.outcome {
            Some(outcome) => self.outcome(&mut html, outcome),
            None => html.push_str(PLACEHOLDER),
        }
        html.push_str("</section>\n</main>\n");
        html.push_str(FOOTER);
        html
    }

    fn track_box(&self, html: &mut String) {
        if !self.track.enabled {
            html.push_str(
                "<p class=\"muted small\">Start the app with <code>--data DIR</code> to fill \
                 the form from a Spotify track id.</p>",
            );
            return;
        }
        let invalid = self.error.and_then(RequestError::field) == Some("track_id");
        let _ = write!(
            html,
            "<form class=\"track{}\" method=\"get\" action=\"/\">\
             <label for=\"track_id\">Start from a Spotify track</label>\
             <div class=\"row\"><input id=\"track_id\" name=\"track_id\" value=\"{}\" \
             placeholder=\"track id, spotify:track:… or open.spotify.com link\" \
             autocomplete=\"off\"><button type=\"submit\" class=\"secondary\">Fill</button></div>\
             </form>",
            if invalid { " invalid" } else { "" },
            escape(self.track.text)
        );
    }

    fn form(&self, html: &mut String) {
        let error_field = self.error.and_then(RequestError::field);
        html.push_str(
            "<form method=\"post\" action=\"/predict\" id=\"song-form\">\
             <h2>Audio features</h2><div class=\"grid\">",
        );
        let ranges: Vec<_> = spotify_ml::popularity::SongInput {
            genre: String::new(),
            ..crate::fields::default_song("")
        }
        .numeric_fields()
        .into_iter()
        .map(|(_, _, range)| range)
        .collect();
        for (field, range) in FIELDS.iter().zip(ranges) {
            if field.name == "artist_popularity" {
                html.push_str("</div><h2>Artist and genre</h2><div class=\"grid\">");
            }
            let value = self.values.get(field.name);
            let invalid = error_field == Some(field.name);
            let _ = write!(
                html,
                "<div class=\"field{}\"><label for=\"f-{name}\"><code>{name}</code></label>",
                if invalid { " invalid" } else { "" },
                name = field.name
            );
            field_input(html, field, &range, value, invalid);
            self.field_note(html, invalid, &field_hint(field, &range, value));
            html.push_str("</div>");
        }
        let genre = self.values.get("genre");
        let invalid = error_field == Some("genre");
        let _ = write!(
            html,
            "<div class=\"field{}\"><label for=\"f-genre\"><code>genre</code></label>",
            if invalid { " invalid" } else { "" }
        );
        select(
            html,
            "genre",
            genre,
            self.genres.iter().map(|g| (g.clone(), g.clone())),
        );
        self.field_note(html, invalid, "The playlist genre");
        html.push_str(
            "</div></div><div class=\"actions\"><button type=\"submit\" id=\"predict\">\
             Predict popularity</button><a href=\"/\" class=\"reset\">Start over</a></div></form>",
        );
    }

    /// Under a field: the error when the field is at fault, else its hint.
    fn field_note(&self, html: &mut String, invalid: bool, hint: &str) {
        match self.error {
            Some(error) if invalid => {
                let _ = write!(
                    html,
                    "<small class=\"problem\">{}</small>",
                    escape(&error.message())
                );
            }
            _ => {
                let _ = write!(html, "<small>{}</small>", escape(hint));
            }
        }
    }

    fn outcome(&self, html: &mut String, outcome: &Outcome) {
        let best = most_likely(&outcome.probabilities);
        let _ = write!(
            html,
            "<p class=\"eyebrow\">Most likely popularity</p>\
             <p class=\"headline\"><span id=\"quartile\">{}</span>\
             <span class=\"of\">of 100 · {} likely</span></p>",
            QUARTILES[best],
            percent(outcome.probabilities[best])
        );
        bar_chart(html, &outcome.probabilities);
        if let Some(set) = &outcome.set {
            let _ = write!(
                html,
                "<p id=\"set\">How sure: <strong>{}</strong> (a conformal prediction set: on \
                 songs like the model's held-out ones, it holds the true quartile {:.0}% of the \
                 time).</p>",
                escape(&set.words),
                100.0 * set.coverage
            );
        }
        html.push_str("<h3>The song</h3><dl class=\"values\" id=\"entered\">");
        for (name, value, _) in outcome.song.numeric_fields() {
            let _ = write!(
                html,
                "<div><dt>{name}</dt><dd>{}</dd></div>",
                escape(&display_value(name, value))
            );
        }
        let _ = write!(
            html,
            "<div><dt>genre</dt><dd>{}</dd></div></dl>",
            escape(&outcome.song.genre)
        );
        explanation(html, outcome.explanation);
    }
}

/// The input of one numeric field: a select for `key` and `mode`, a number box for the rest.
fn field_input(html: &mut String, field: &FormField, range: &Range, value: &str, invalid: bool) {
    match field.name {
        "key" => select(
            html,
            field.name,
            value,
            (-1..=11).map(|key| {
                let label = if key < 0 {
                    "none".to_string()
                } else {
                    PITCHES[key as usize].to_string()
                };
                (key.to_string(), format!("{key} · {label}"))
            }),
        ),
        "mode" => select(
            html,
            field.name,
            value,
            [
                ("1".to_string(), "1 · major".to_string()),
                ("0".to_string(), "0 · minor".to_string()),
            ]
            .into_iter(),
        ),
        _ => {
            let step = if field.whole {
                format!("{}", field.step)
            } else {
                "any".to_string()
            };
            let _ = write!(
                html,
                "<input id=\"f-{name}\" name=\"{name}\" type=\"number\" step=\"{step}\" \
                 min=\"{min}\" max=\"{max}\" value=\"{value}\" required{aria}>",
                name = field.name,
                min = range.min,
                max = range.max,
                value = escape(value),
                aria = if invalid {
                    " aria-invalid=\"true\""
                } else {
                    ""
                },
            );
        }
    }
}

/// A field's hint: its label, range and unit, and a duration in minutes as well.
fn field_hint(field: &FormField, range: &Range, value: &str) -> String {
    let mut hint = format!(
        "{} · {} – {}",
        field.label,
        hint_number(range.min),
        hint_number(range.max)
    );
    if !field.unit.is_empty() {
        let _ = write!(hint, " {}", field.unit);
    }
    if field.name == "duration_ms" {
        if let Ok(ms) = value.trim().parse::<f64>() {
            if (0.0..=36_000_000.0).contains(&ms) {
                let _ = write!(hint, " (now {})", display_value("duration_ms", ms));
            }
        }
    }
    hint
}

/// A `<select>` with these `(value, label)` options; a value sent that is not among them is kept
/// as an extra option, so the page shows what was entered.
fn select(
    html: &mut String,
    name: &str,
    current: &str,
    options: impl Iterator<Item = (String, String)>,
) {
    let _ = write!(html, "<select id=\"f-{name}\" name=\"{name}\" required>");
    let mut found = false;
    for (value, label) in options {
        let selected = value == current.trim();
        found |= selected;
        let _ = write!(
            html,
            "<option value=\"{}\"{}>{}</option>",
            escape(&value),
            if selected { " selected" } else { "" },
            escape(&label)
        );
    }
    if !found && !current.is_empty() {
        let _ = write!(
            html,
            "<option value=\"{0}\" selected>{0} (not an option)</option>",
            escape(current)
        );
    }
    html.push_str("</select>");
}

/// The four probabilities as vertical bars, the most likely one highlighted.
fn bar_chart(html: &mut String, probabilities: &[f64; 4]) {
    const WIDTH: f64 = 440.0;
    const TOP_MARGIN: f64 = 26.0;
    const PLOT: f64 = 170.0;
    const LEFT: f64 = 44.0;
    let best = most_likely(probabilities);
    let _ = write!(
        html,
        "<svg class=\"chart\" id=\"chart\" viewBox=\"0 0 {WIDTH} 240\" role=\"img\" \
         aria-label=\"Probability of each popularity quartile\" \
         xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = TOP_MARGIN + PLOT * (1.0 - tick);
        let _ = write!(
            html,
            "<line x1=\"{LEFT}\" x2=\"{WIDTH}\" y1=\"{y}\" y2=\"{y}\" class=\"grid\"/>\
             <text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            LEFT - 8.0,
            y + 4.0,
            percent(tick)
        );
    }
    let slot = (WIDTH - LEFT) / 4.0;
    let bar = slot * 0.62;
    for (index, (&p, name)) in probabilities.iter().zip(QUARTILES).enumerate() {
        let height = (PLOT * p.clamp(0.0, 1.0)).max(1.0);
        let x = LEFT + slot * index as f64 + (slot - bar) / 2.0;
        let y = TOP_MARGIN + PLOT - height;
        let class = if index == best { "bar best" } else { "bar" };
        let _ = write!(
            html,
            "<rect class=\"{class}\" data-quartile=\"{name}\" data-probability=\"{p:.6}\" \
             x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{height:.1}\" rx=\"6\">\
             <title>{name}: {}</title></rect>\
             <text x=\"{cx:.1}\" y=\"{ty:.1}\" class=\"value\" text-anchor=\"middle\">{}</text>\
             <text x=\"{cx:.1}\" y=\"{ly:.1}\" class=\"label\" text-anchor=\"middle\">{name}</text>",
            percent(p),
            percent(p),
            cx = x + bar / 2.0,
            ty = y - 7.0,
            ly = TOP_MARGIN + PLOT + 22.0,
        );
    }
    html.push_str("</svg>");
}

/// The top-quartile probability across one feature's sweep, the song's value and the best one
/// marked.
fn sparkline(html: &mut String, curve: &[(f64, f64)], current: f64, best: f64) {
    const W: f64 = 150.0;
    const H: f64 = 40.0;
    let (Some(first), Some(last)) = (curve.first(), curve.last()) else {
        return;
    };
    let (x0, x1) = (first.0, last.0);
    let low = curve.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let high = curve.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let span_x = if x1 > x0 { x1 - x0 } else { 1.0 };
    let span_y = if high > low { high - low } else { 1.0 };
    let point = |(x, y): (f64, f64)| {
        (
            3.0 + (W - 6.0) * (x - x0) / span_x,
            H - 4.0 - (H - 8.0) * (y - low) / span_y,
        )
    };
    let _ = write!(
        html,
        "<svg class=\"spark\" viewBox=\"0 0 {W} {H}\" aria-hidden=\"true\" \
         xmlns=\"http://www.w3.org/2000/svg\"><polyline points=\""
    );
    for &p in curve {
        let (x, y) = point(p);
        let _ = write!(html, "{x:.1},{y:.1} ");
    }
    html.push_str("\"/>");
    for (value, class) in [(current, "now"), (best, "to")] {
        if let Some(&p) = curve.iter().find(|p| p.0 == value) {
            let (x, y) = point(p);
            let _ = write!(
                html,
                "<circle class=\"{class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\"/>"
            );
        }
    }
    html.push_str("</svg>");
}

fn explanation(html: &mut String, explanation: &Explanation) {
    let _ = write!(
        html,
        "<section id=\"explanation\"><h3>What would move it</h3>\
         <p class=\"muted\">Chance of the top quartile ({}) now: <strong>{}</strong>. Each \
         audio feature was tried across its range with everything else held; these changes \
         raise that chance most.</p>",
        QUARTILES[TOP],
        percent(explanation.baseline)
    );
    let shown: Vec<_> = explanation
        .sweeps
        .iter()
        .filter(|sweep| sweep.gain(explanation.baseline) >= MIN_GAIN)
        .take(MAX_CHANGES)
        .collect();
    if shown.is_empty() {
        html.push_str(
            "<p class=\"change-none\">No single change of an audio feature raises it by half a \
             point or more: the artist’s popularity and the genre carry this prediction.</p>",
        );
    } else {
        html.push_str("<ol class=\"changes\">");
        for sweep in shown {
            let _ = write!(
                html,
                "<li class=\"change\"><div><strong>{}</strong> \
                 <span class=\"muted\"><code>{}</code> {} → {}</span><br>\
                 top-quartile chance {} → {} <span class=\"gain\">+{:.1} pts</span><br>\
                 <span class=\"muted small\">most likely then: {}</span></div>",
                escape(&capitalise(&describe(
                    sweep.field,
                    sweep.current,
                    sweep.best
                ))),
                sweep.field,
                escape(&display_value(sweep.field, sweep.current)),
                escape(&display_value(sweep.field, sweep.best)),
                percent(explanation.baseline),
                percent(sweep.best_probability),
                sweep.gain(explanation.baseline) * 100.0,
                sweep.best_quartile
            );
            sparkline(html, &sweep.curve, sweep.current, sweep.best);
            html.push_str("</li>");
        }
        html.push_str("</ol>");
    }
    html.push_str(
        "<p class=\"muted small\">The curves show the top-quartile chance across each \
         feature’s range: grey marks the song, green the suggested value.</p></section>",
    );
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

const PLACEHOLDER: &str = "<p class=\"eyebrow\">Popularity quartiles</p>\
    <p class=\"lead\">Spotify scores every track’s popularity from 0 to 100. The model puts a song \
    in one of four quartiles: <strong>0-25</strong>, <strong>25-50</strong>, <strong>50-75</strong> \
    or <strong>75-100</strong>, and gives the probability of each.</p>\
    <p class=\"muted\">Fill in the song and press <em>Predict popularity</em>: the probabilities \
    appear here as a chart, with the changes to the song that would raise its chance of the top \
    quartile most.</p>";

const FOOTER: &str = "<footer>JSON: <code>POST /api/predict</code> with the same fields \
    (<code>Content-Type: application/json</code>) answers \
    <code>{\"quartile\":\"50-75\",\"probabilities\":{\"0-25\":…,\"25-50\":…,\"50-75\":…,\"75-100\":…}}</code>.\
    </footer></body></html>\n";

const HEAD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Song popularity</title>
<style>
:root{--bg:#f3f6f4;--card:#fff;--ink:#17251d;--muted:#5d6d64;--line:#d5ddd8;--accent:#16a34a;--accent-dark:#11813a;--soft:#e6f6ec;--bar:#b9c8c0;--bad:#b42318;--bad-soft:#fdeceb}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;background:var(--bg);color:var(--ink)}
header{max-width:1240px;margin:0 auto;padding:26px 32px 4px}
header h1{margin:0 0 4px;font-size:27px;letter-spacing:-.01em}
header p{margin:0;color:var(--muted);max-width:860px}
.layout{display:grid;grid-template-columns:minmax(0,1.05fr) minmax(0,1fr);gap:22px;max-width:1240px;margin:0 auto;padding:18px 32px 20px;align-items:start}
@media (max-width:920px){.layout{grid-template-columns:1fr}}
.card{background:var(--card);border-radius:16px;box-shadow:0 1px 2px rgba(16,24,20,.06),0 4px 16px rgba(16,24,20,.05);padding:20px 24px}
h2{font-size:14px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:18px 0 10px}
h3{font-size:16px;margin:22px 0 8px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(172px,1fr));gap:12px 14px}
.field label{display:block;margin-bottom:3px}
.field code{font:600 13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--ink)}
input,select{width:100%;padding:7px 10px;border:1px solid var(--line);border-radius:9px;font:inherit;background:#fff;color:var(--ink)}
input:focus,select:focus{outline:2px solid var(--accent);outline-offset:0;border-color:var(--accent)}
.field small{display:block;color:var(--muted);font-size:12px;margin-top:3px;line-height:1.35}
.field.invalid input,.field.invalid select,.track.invalid input{border-color:var(--bad);background:var(--bad-soft)}
.field small.problem{color:var(--bad);font-weight:600}
.track label{display:block;font-weight:600;margin-bottom:4px}
.track .row{display:flex;gap:8px}
.actions{display:flex;align-items:center;gap:18px;margin-top:20px}
button{background:var(--accent);color:#fff;border:0;border-radius:999px;padding:10px 24px;font-family:inherit;font-size:15px;font-weight:600;line-height:1.2;cursor:pointer}
button:hover{background:var(--accent-dark)}
button.secondary{background:var(--ink);padding:8px 18px;white-space:nowrap}
a{color:var(--accent-dark)}
.reset{font-size:14px}
.banner{background:var(--bad-soft);border:1px solid #f4c1bc;color:var(--bad);padding:10px 14px;border-radius:10px;font-weight:600}
.notice{background:var(--soft);border:1px solid #bfe5cd;padding:10px 14px;border-radius:10px}
.muted{color:var(--muted)}
.small{font-size:13px}
.eyebrow{margin:0;text-transform:uppercase;letter-spacing:.06em;font-size:13px;color:var(--muted)}
.headline{margin:2px 0 6px;font-size:44px;font-weight:750;letter-spacing:-.02em;color:var(--accent-dark)}
.headline .of{font-size:16px;font-weight:500;color:var(--muted);margin-left:10px;letter-spacing:0}
.lead{font-size:17px}
.chart{width:100%;max-width:520px;height:auto;display:block}
.chart .grid{stroke:#e4eae6;stroke-width:1}
.chart .tick{font-size:11px;fill:#7b8a82}
.chart .bar{fill:var(--bar)}
.chart .bar.best{fill:var(--accent)}
.chart .value{font-size:14px;font-weight:700;fill:var(--ink)}
.chart .label{font-size:13px;fill:var(--muted)}
.values{display:flex;flex-wrap:wrap;gap:6px;margin:0}
.values div{background:#f1f4f2;border-radius:8px;padding:3px 9px;font-size:13px}
.values dt{display:inline;color:var(--muted);margin-right:5px}
.values dd{display:inline;margin:0;font-weight:600}
.changes{list-style:none;padding:0;margin:0}
.change{display:flex;justify-content:space-between;align-items:center;gap:12px;padding:9px 0;border-top:1px solid #edf1ee;font-size:14px}
.change strong{font-size:15px}
.change code{font-size:12px}
.gain{display:inline-block;background:var(--soft);color:var(--accent-dark);font-weight:700;border-radius:999px;padding:0 8px;margin-left:4px}
.spark{width:150px;height:40px;flex:none}
.spark polyline{fill:none;stroke:#8fa89a;stroke-width:1.6}
.spark .now{fill:#6b7b72}
.spark .to{fill:var(--accent)}
footer{max-width:1240px;margin:0 auto;padding:0 32px 28px;color:var(--muted);font-size:13px}
footer code{font-size:12px}
</style></head><body>
"#;
