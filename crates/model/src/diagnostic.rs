//! Diagnostics: what the loader and validator say about a desired state.
//!
//! The loader never stops at the first problem: it collects every error and
//! warning it can find into [`Diagnostics`], each pointing at a [`Span`].
//! [`Diagnostic::resolve`] turns one into plain data (file, line, column,
//! source line) for renderers and for `--output json`.

use serde::Serialize;

use crate::source::{Sources, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding about the desired state.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable, greppable identifier, e.g. `unknown-key`.
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where; `None` only for problems with no file (e.g. a missing directory).
    pub span: Option<Span>,
    /// What was expected / what to do next.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Option<Span>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn warning(code: &'static str, span: Option<Span>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, span, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Plain data for renderers: file, line, column and the source line.
    pub fn resolve(&self, sources: &Sources) -> ResolvedDiagnostic {
        let location = self.span.map(|span| {
            let file = sources.get(span.file);
            ResolvedLocation {
                file: file.display_path.to_string_lossy().into_owned(),
                line: span.line,
                column: span.column,
                offset: span.offset,
                length: span.len,
                source_line: file.line_text(span.line).to_owned(),
            }
        });
        ResolvedDiagnostic {
            severity: self.severity,
            code: self.code,
            message: self.message.clone(),
            help: self.help.clone(),
            location,
        }
    }
}

/// A diagnostic with its position spelled out (the `--output json` shape).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub location: Option<ResolvedLocation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedLocation {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// Byte offset into the file and length in bytes of the marked region.
    pub offset: usize,
    pub length: usize,
    pub source_line: String,
}

impl ResolvedDiagnostic {
    /// `file:line:column` or just the file name when there is no position.
    pub fn position(&self) -> Option<String> {
        self.location
            .as_ref()
            .map(|l| format!("{}:{}:{}", l.file, l.line, l.column))
    }
}

/// An ordered collection of findings.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn error(&mut self, code: &'static str, span: Option<Span>, message: impl Into<String>) {
        self.push(Diagnostic::error(code, span, message));
    }

    pub fn error_help(
        &mut self,
        code: &'static str,
        span: Option<Span>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(Diagnostic::error(code, span, message).with_help(help));
    }

    pub fn warning_help(
        &mut self,
        code: &'static str,
        span: Option<Span>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(Diagnostic::warning(code, span, message).with_help(help));
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.severity == Severity::Error).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Replace each of `values` (cleartext decrypted from a SOPS file) in
    /// every message and help by `(sensitive)`: a finding about a value
    /// must not show it.
    pub fn redact(&mut self, values: &[String]) {
        for d in &mut self.items {
            for v in values.iter().filter(|v| !v.is_empty()) {
                if d.message.contains(v.as_str()) {
                    d.message = d.message.replace(v.as_str(), "(sensitive)");
                }
                if let Some(h) = d.help.as_mut().filter(|h| h.contains(v.as_str())) {
                    *h = h.replace(v.as_str(), "(sensitive)");
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Sorted by file, then position, so output is stable.
    pub fn sorted(mut self) -> Self {
        self.items.sort_by_key(|d| {
            d.span
                .map(|s| (s.file, s.line, s.column))
                .unwrap_or((crate::source::FileId(0), 0, 0))
        });
        self
    }

    /// Remove and return the diagnostics recorded after the first `len`.
    pub fn split_off(&mut self, len: usize) -> Diagnostics {
        Diagnostics {
            items: self.items.split_off(len.min(self.items.len())),
        }
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}
