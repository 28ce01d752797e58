//! Env files (`KEY=value` per line), read the way docker reads them for
//! compose `env_file` and stack interpolation: `#` comments, blank lines,
//! an optional `export ` prefix, single- or double-quoted values.

use crate::diagnostic::Diagnostics;
use crate::source::{FileId, Sources};

/// Parsed `(key, value, line)` triples in file order.
pub fn parse_env_file(id: FileId, sources: &Sources, diags: &mut Diagnostics) -> Vec<(String, String, u32)> {
    let file = sources.get(id);
    let mut out = Vec::new();
    for (idx, raw) in file.text.lines().enumerate() {
        let line_no = idx as u32 + 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let indent = (raw.len() - line.len()) as u32;
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, value)) = line.split_once('=') else {
            // docker passes a bare `KEY` through from its own environment;
            // for interpolation that means "no value here".
            if is_valid_name(line.trim()) {
                continue;
            }
            diags.error_help(
                "env-file-syntax",
                Some(sources.line_span(id, line_no, indent + 1, line.len())),
                format!("`{}` is not a KEY=value line", line.trim()),
                "write one KEY=value per line; start comments with #",
            );
            continue;
        };
        let key = key.trim_end();
        if !is_valid_name(key) {
            diags.error_help(
                "env-file-syntax",
                Some(sources.line_span(id, line_no, indent + 1, key.len().max(1))),
                format!("`{key}` is not a valid variable name"),
                "variable names use letters, digits and _ and do not start with a digit",
            );
            continue;
        }
        out.push((key.to_owned(), unquote(value), line_no));
    }
    out
}

fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c == '_' || c == '.' || c == '-' || c.is_ascii_alphanumeric())
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        return v[1..v.len() - 1].to_owned();
    }
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        return v[1..v.len() - 1]
            .replace("\\n", "\n")
            .replace("\\\"", "\"")
            .replace("\\\\", "\\");
    }
    // An unquoted value ends at ` #` (an inline comment).
    match v.find(" #") {
        Some(i) => v[..i].trim_end().to_owned(),
        None => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_env_files() {
        let mut sources = Sources::default();
        let id = sources.add(
            "x.env",
            "# comment\n\nA=1\nexport B = two\nC=\"quoted # not a comment\"\nD='single'\nE=plain # comment\nBARE\n"
                .into(),
        );
        let mut diags = Diagnostics::default();
        let vars = parse_env_file(id, &sources, &mut diags);
        assert!(diags.is_empty());
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v, _)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            vec![
                ("A", "1"),
                ("B", "two"),
                ("C", "quoted # not a comment"),
                ("D", "single"),
                ("E", "plain")
            ]
        );
    }

    #[test]
    fn bad_lines_are_reported_with_their_line() {
        let mut sources = Sources::default();
        let id = sources.add("x.env", "A=1\nthis is wrong\n1X=2\n".into());
        let mut diags = Diagnostics::default();
        parse_env_file(id, &sources, &mut diags);
        let lines: Vec<u32> = diags.iter().filter_map(|d| d.span.map(|s| s.line)).collect();
        assert_eq!(lines, vec![2, 3]);
    }
}
