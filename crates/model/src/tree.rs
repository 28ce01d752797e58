//! Where a desired state's files come from: a directory on disk, or a
//! snapshot held in memory (a git commit's tree, read whole).
//!
//! The loader asks a [`SourceTree`] for files by normalised relative path
//! and never touches the filesystem itself, so a git commit is loaded by the
//! same code as a directory — one atomic snapshot, no working tree.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The most bytes one file of a desired state may hold. Real files are a
/// few KiB; the cap keeps a stray dump or a device from exhausting memory.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    NotFound,
    /// A symbolic link that leads outside the tree.
    Escapes,
    /// Not a regular file: what it is ("a FIFO (named pipe)", "a socket", ...).
    NotRegular(&'static str),
    /// Larger than [`MAX_FILE_BYTES`]: its size (at least).
    TooLarge(u64),
    Other(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotFound => f.write_str("no such file"),
            ReadError::Escapes => f.write_str("it is a link that points outside the desired-state directory"),
            ReadError::NotRegular(what) => write!(f, "it is {what}, not a regular file"),
            ReadError::TooLarge(size) => write!(
                f,
                "it holds {size} bytes, more than the {} MiB a file may hold",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            ReadError::Other(why) => f.write_str(why),
        }
    }
}

/// Read-only access to the files of a desired state.
pub trait SourceTree {
    /// Whether the tree exists at all (a missing directory is reported
    /// once, before any file is asked for).
    fn exists(&self) -> bool;
    /// What to call the tree in messages: a directory path, a commit.
    fn describe(&self) -> String;
    /// The bytes of the file at `rel`: a path relative to the root with no
    /// `.`, `..` or root components (the loader normalises it). Links are
    /// followed while they stay inside the tree. Only regular files of at
    /// most [`MAX_FILE_BYTES`] are read; reading never blocks on a FIFO or
    /// a device.
    fn read(&self, rel: &Path) -> Result<Vec<u8>, ReadError>;
    /// The tree's absolute path on this machine, when it is a directory
    /// here (a git snapshot has none): what `$PWD` in a stack starts with.
    fn absolute_root(&self) -> Option<PathBuf> {
        None
    }
}

/// What `$PWD` in a stack starts with when the tree is no directory on
/// this machine (a git snapshot): one fixed path, so the same commit
/// gives the same values wherever it is loaded.
pub const SNAPSHOT_ROOT: &str = "/swarmkeeper/desired-state";

/// A directory on disk.
#[derive(Debug, Clone)]
pub struct DirTree {
    root: PathBuf,
    canonical_root: Option<PathBuf>,
}

impl DirTree {
    pub fn new(root: &Path) -> DirTree {
        DirTree {
            root: root.to_path_buf(),
            canonical_root: std::fs::canonicalize(root).ok(),
        }
    }
}

impl SourceTree for DirTree {
    fn exists(&self) -> bool {
        self.root.is_dir()
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn absolute_root(&self) -> Option<PathBuf> {
        self.canonical_root.clone()
    }

    fn read(&self, rel: &Path) -> Result<Vec<u8>, ReadError> {
        let path = self.root.join(rel);
        // A symlink inside the directory must not lead out of it.
        if let (Some(root), Ok(real)) = (&self.canonical_root, std::fs::canonicalize(&path))
            && !real.starts_with(root)
        {
            return Err(ReadError::Escapes);
        }
        read_regular(&path)
    }
}

fn io_error(e: &std::io::Error) -> ReadError {
    match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        #[cfg(unix)]
        _ if e.raw_os_error() == Some(libc::ELOOP) => {
            ReadError::Other("it is a link that leads to itself (a loop of links)".into())
        }
        _ => ReadError::Other(e.to_string()),
    }
}

/// What a non-regular file is, in words.
fn kind_of(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_char_device() {
            return "a character device";
        }
    }
    if ft.is_dir() {
        return "a directory";
    }
    "not a regular file"
}

/// Read a regular file of at most [`MAX_FILE_BYTES`], never blocking: the
/// type is checked before opening, the file is opened non-blocking (a FIFO
/// swapped in meanwhile does not wait for a writer) and checked again on
/// the open descriptor, and at most the cap plus one byte is read.
fn read_regular(path: &Path) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| io_error(&e))?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(meta.file_type())));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(meta.len()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(|e| io_error(&e))?;
    let meta = file.metadata().map_err(|e| io_error(&e))?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(meta.file_type())));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(&e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// One entry of an in-memory tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File(Vec<u8>),
    /// A symbolic link and its target as stored (relative to the link's
    /// directory, or absolute — which always leaves the tree).
    Link(PathBuf),
}

/// A snapshot held in memory: every file of a git commit, read at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    name: String,
    entries: BTreeMap<PathBuf, Entry>,
}

/// How many links one read follows before giving up (a cycle).
const MAX_LINKS: usize = 16;

impl MemoryTree {
    /// An empty tree called `name` in messages (e.g. `git@host:repo@abc123`).
    pub fn new(name: impl Into<String>) -> MemoryTree {
        MemoryTree {
            name: name.into(),
            entries: BTreeMap::new(),
        }
    }

    pub fn insert(&mut self, rel: impl Into<PathBuf>, entry: Entry) {
        self.entries.insert(rel.into(), entry);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl SourceTree for MemoryTree {
    fn exists(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        self.name.clone()
    }

    fn read(&self, rel: &Path) -> Result<Vec<u8>, ReadError> {
        let mut path = rel.to_path_buf();
        for _ in 0..MAX_LINKS {
            // A directory on the way may itself be a link: resolve the
            // first component that is one, then start again.
            let mut prefix = PathBuf::new();
            let mut resolved = None;
            let components: Vec<_> = path.components().collect();
            for (i, c) in components.iter().enumerate() {
                prefix.push(c);
                match self.entries.get(&prefix) {
                    Some(Entry::Link(target)) => {
                        let rest: PathBuf = components[i + 1..].iter().collect();
                        let base = prefix.parent().unwrap_or(Path::new(""));
                        resolved = Some(normalise(&base.join(target)).ok_or(ReadError::Escapes)?.join(rest));
                        break;
                    }
                    Some(Entry::File(bytes)) if i + 1 == components.len() => {
                        if bytes.len() as u64 > MAX_FILE_BYTES {
                            return Err(ReadError::TooLarge(bytes.len() as u64));
                        }
                        return Ok(bytes.clone());
                    }
                    Some(Entry::File(_)) => return Err(ReadError::NotFound),
                    None => {}
                }
            }
            match resolved {
                Some(next) => path = next,
                None => return Err(ReadError::NotFound),
            }
        }
        Err(ReadError::Other("too many levels of symbolic links".into()))
    }
}

/// `a/./b/../c` → `a/c`; `None` when the path is absolute or climbs above
/// the root.
pub fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> MemoryTree {
        let mut t = MemoryTree::new("test");
        t.insert("swarmkeeper.yaml", Entry::File(b"root".to_vec()));
        t.insert("stacks/web/compose.yml", Entry::File(b"web".to_vec()));
        t.insert("stacks/current", Entry::Link("web".into()));
        t.insert("stacks/alias.yml", Entry::Link("web/compose.yml".into()));
        t.insert("out", Entry::Link("../../etc/passwd".into()));
        t.insert("abs", Entry::Link("/etc/passwd".into()));
        t.insert("loop", Entry::Link("loop".into()));
        t
    }

    #[test]
    fn reads_files_and_follows_links_inside_the_tree() {
        let t = tree();
        assert_eq!(t.read(Path::new("swarmkeeper.yaml")), Ok(b"root".to_vec()));
        assert_eq!(t.read(Path::new("stacks/alias.yml")), Ok(b"web".to_vec()));
        assert_eq!(t.read(Path::new("stacks/current/compose.yml")), Ok(b"web".to_vec()));
    }

    #[test]
    fn refuses_links_that_leave_and_reports_missing_files() {
        let t = tree();
        assert_eq!(t.read(Path::new("out")), Err(ReadError::Escapes));
        assert_eq!(t.read(Path::new("abs")), Err(ReadError::Escapes));
        assert_eq!(t.read(Path::new("nope.yml")), Err(ReadError::NotFound));
        assert_eq!(t.read(Path::new("swarmkeeper.yaml/x")), Err(ReadError::NotFound));
        assert!(matches!(t.read(Path::new("loop")), Err(ReadError::Other(_))));
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        // A character device that never ends, and one that never yields a byte
        // to a blocking reader would hang or exhaust memory if opened as a file.
        let dev = DirTree::new(Path::new("/dev"));
        assert_eq!(
            dev.read(Path::new("zero")),
            Err(ReadError::NotRegular("a character device"))
        );
        assert_eq!(
            dev.read(Path::new("null")),
            Err(ReadError::NotRegular("a character device"))
        );
        let dir = std::env::temp_dir().join(format!("sk-tree-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let fifo = dir.join("pipe");
        let _ = std::fs::remove_file(&fifo);
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("path");
        // SAFETY: mkfifo with a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        std::fs::create_dir_all(dir.join("sub")).expect("sub dir");
        std::fs::File::create(dir.join("big"))
            .and_then(|f| f.set_len(MAX_FILE_BYTES + 1))
            .expect("sparse file");
        let t = DirTree::new(&dir);
        assert_eq!(
            t.read(Path::new("pipe")),
            Err(ReadError::NotRegular("a FIFO (named pipe)"))
        );
        assert_eq!(t.read(Path::new("sub")), Err(ReadError::NotRegular("a directory")));
        assert_eq!(t.read(Path::new("big")), Err(ReadError::TooLarge(MAX_FILE_BYTES + 1)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn memory_files_over_the_cap_are_refused() {
        let mut t = MemoryTree::new("test");
        t.insert("big", Entry::File(vec![b' '; MAX_FILE_BYTES as usize + 1]));
        assert_eq!(t.read(Path::new("big")), Err(ReadError::TooLarge(MAX_FILE_BYTES + 1)));
    }

    #[test]
    fn normalise_stays_inside() {
        assert_eq!(normalise(Path::new("a/./b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(normalise(Path::new("../a")), None);
        assert_eq!(normalise(Path::new("/a")), None);
    }
}
