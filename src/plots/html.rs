//! `report.html`: one page holding everything it shows (styles inline, figures as inline
//! SVG, no scripts, fonts or images from elsewhere), plus relative links to the folder's
//! own CSV and JSON files.

use std::fmt::Write as _;
use std::path::Path;

use super::{Section, PLOTS_DIR};

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:24px auto;max-width:1000px;color:#222;line-height:1.4}\
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}\
h3{font-size:16px;margin:20px 0 4px}table{border-collapse:collapse;margin:8px 0;font-size:13px}\
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f3f3f3}\
td.n{text-align:right;font-variant-numeric:tabular-nums}figure{margin:12px 0}\
figure svg{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:13px;color:#555}\
.about td:first-child{font-weight:bold;white-space:nowrap}.note{color:#555;font-size:13px}\
.wide{overflow-x:auto;max-width:100%}";

/// The page for `dir`: its sections with their figures (`svgs[s][f]` is section `s`'s
/// figure `f` as an SVG document).
pub(crate) fn page(dir: &Path, sections: &[Section], svgs: &[Vec<String>]) -> String {
    let title = sections
        .iter()
        .flat_map(|s| s.about.iter())
        .find(|(k, _)| k == "scenario")
        .map(|(_, v)| v.clone())
        .or_else(|| dir.file_name().map(|f| f.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "dcsim".into());
    let kinds: Vec<&str> = sections.iter().map(|s| s.kind.as_str()).collect();
    let mut h = String::with_capacity(1 << 20);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>dcsim {} — {}</title><style>{STYLE}</style></head><body>\n",
        escape(&kinds.join(", ")),
        escape(&title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        h,
        "<p class=\"note\">dcsim {} report of this folder.</p>",
        escape(&kinds.join(" and "))
    );
    for (s, figs) in sections.iter().zip(svgs) {
        let _ = writeln!(h, "<h2>{}</h2>", escape(&capitalise(s.kind.as_str())));
        h.push_str("<table class=\"about\">");
        for (k, v) in &s.about {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(v));
        }
        h.push_str("</table>\n");
        if s.table.len() > 1 {
            h.push_str("<h3>Summary</h3>\n");
            table(&mut h, &s.table);
        }
        if !s.skipped.is_empty() {
            h.push_str("<h3>Skipped</h3>\n<table>");
            for (k, v) in &s.skipped {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                    escape(k),
                    escape(v)
                );
            }
            h.push_str("</table>\n");
        }
        for (f, svg) in s.figures.iter().zip(figs) {
            let _ = writeln!(h, "<h3>{}</h3>\n<figure>", escape(&f.title));
            h.push_str(strip_prolog(svg));
            let _ = writeln!(
                h,
                "<figcaption>{} (also <a href=\"{PLOTS_DIR}/{}.svg\">{}.svg</a>)</figcaption></figure>",
                escape(&f.caption),
                escape(&f.name),
                escape(&f.name)
            );
        }
        for m in &s.missing {
            let _ = writeln!(h, "<p class=\"note\">Not drawn: {}</p>", escape(m));
        }
    }
    h.push_str("<h2>Files</h2>\n<ul>");
    for f in data_files(dir) {
        let _ = write!(h, "<li><a href=\"{0}\">{0}</a></li>", escape(&f));
    }
    h.push_str("</ul>\n</body></html>\n");
    h
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn table(h: &mut String, rows: &[Vec<String>]) {
    // Wide tables (a sweep's every metric) scroll inside their box instead of running
    // off the page.
    h.push_str("<div class=\"wide\"><table><tr>");
    for c in &rows[0] {
        let _ = write!(h, "<th>{}</th>", escape(c));
    }
    h.push_str("</tr>");
    for r in &rows[1..] {
        h.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let numeric = i > 0
                && c.trim_start_matches(['-', '+'])
                    .starts_with(|ch: char| ch.is_ascii_digit());
            let class = if numeric { " class=\"n\"" } else { "" };
            let _ = write!(h, "<td{class}>{}</td>", escape(c));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></div>\n");
}

/// An SVG document without its XML declaration, for inlining.
fn strip_prolog(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

/// The CSV and JSON files of `dir`, by name.
fn data_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".csv") || n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
