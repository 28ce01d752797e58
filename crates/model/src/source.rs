//! Source files read by the loader and positions inside them.
//!
//! Every diagnostic points into one of these files. Positions are kept as
//! byte offsets plus 1-based line and column (columns count characters, as
//! editors do), so that both a terminal renderer and `--output json` can use
//! them without re-reading the file.

use std::path::{Path, PathBuf};

/// Index of a file in a [`Sources`] registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A region of a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    /// Byte offset of the first character.
    pub offset: usize,
    /// Length in bytes (may be 0 for a point).
    pub len: usize,
    /// 1-based line of the first character.
    pub line: u32,
    /// 1-based column (in characters) of the first character.
    pub column: u32,
}

/// One file that was read, with its text, as the user would name it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the desired-state directory (what messages show).
    pub display_path: PathBuf,
    pub text: String,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(display_path: PathBuf, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            display_path,
            text,
            line_starts,
        }
    }

    /// Byte offset of a 1-based line and a 0-based character column.
    pub fn offset_of(&self, line: usize, char_col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(char_col)
            .map_or(self.text.len(), |(i, _)| start + i)
    }

    /// The full text of a 1-based line, without its newline.
    pub fn line_text(&self, line: u32) -> &str {
        let idx = (line as usize).saturating_sub(1);
        let Some(&start) = self.line_starts.get(idx) else {
            return "";
        };
        let end = self.line_starts.get(idx + 1).map_or(self.text.len(), |e| e - 1);
        self.text[start..end.max(start)].trim_end_matches('\r')
    }
}

/// Registry of every file read during one load.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, display_path: impl Into<PathBuf>, text: String) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile::new(display_path.into(), text));
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn path(&self, id: FileId) -> &Path {
        &self.get(id).display_path
    }

    /// A span covering a whole line's content (for line-oriented files).
    pub fn line_span(&self, id: FileId, line: u32, column: u32, len: usize) -> Span {
        let file = self.get(id);
        let offset = file.offset_of(line as usize, column.saturating_sub(1) as usize);
        Span {
            file: id,
            offset,
            len,
            line,
            column,
        }
    }

    /// A span of `len` bytes at byte `offset` of a file, with its line and column.
    pub fn span_at(&self, id: FileId, offset: usize, len: usize) -> Span {
        let file = self.get(id);
        let offset = offset.min(file.text.len());
        let idx = file.line_starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = file.line_starts.get(idx).copied().unwrap_or(0);
        let column = file.text.get(start..offset).map_or(1, |t| t.chars().count() + 1);
        Span {
            file: id,
            offset,
            len: len.min(file.text.len() - offset),
            line: idx as u32 + 1,
            column: column as u32,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i as u32), f))
    }
}
