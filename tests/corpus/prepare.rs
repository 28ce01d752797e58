//! Files git cannot hold, made at test time for the corpus cases that need
//! them. A case lists them in a `setup` file, one per line:
//!
//! ```text
//! fifo PATH            a named pipe
//! socket PATH          a Unix socket (nothing listens on it)
//! sparse PATH BYTES    a file of BYTES bytes that takes no disk space
//! ```
//!
//! Such a case is copied (links stay links) to a directory of this process
//! under the system's temporary directory and the files are made there, so
//! the repository itself never holds a FIFO (a `grep -r` over it would
//! block on one). PATH is relative to the case directory.

use std::path::{Path, PathBuf};

/// The directory to load for `case`: `case` itself, or a prepared copy of
/// it when it has a `setup` file.
pub fn prepare(case: &Path) -> PathBuf {
    let Ok(setup) = std::fs::read_to_string(case.join("setup")) else {
        return case.to_path_buf();
    };
    let name = case
        .file_name()
        .unwrap_or_else(|| panic!("{}: no name", case.display()));
    let dir = std::env::temp_dir()
        .join(format!("swarmkeeper-corpus-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(case, &dir);
    for line in setup
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let path = dir.join(
            words
                .get(1)
                .unwrap_or_else(|| panic!("{}: `{line}` names no path", case.display())),
        );
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
        }
        match words[0] {
            "fifo" => {
                let status = std::process::Command::new("mkfifo")
                    .arg(&path)
                    .status()
                    .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
                assert!(status.success(), "mkfifo {} failed", path.display());
            }
            "socket" => {
                std::os::unix::net::UnixListener::bind(&path)
                    .unwrap_or_else(|e| panic!("binding {}: {e}", path.display()));
            }
            "sparse" => {
                let bytes: u64 = words
                    .get(2)
                    .and_then(|b| b.parse().ok())
                    .unwrap_or_else(|| panic!("{}: `{line}` needs a size in bytes", case.display()));
                std::fs::File::create(&path)
                    .and_then(|f| f.set_len(bytes))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
            other => panic!("{}: unknown setup `{other}`", case.display()),
        }
    }
    dir
}

/// Copy a directory: files, subdirectories, and links as links.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        if kind.is_symlink() {
            let target = std::fs::read_link(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
            std::os::unix::fs::symlink(target, &dst).unwrap_or_else(|e| panic!("{}: {e}", dst.display()));
        } else if kind.is_dir() {
            copy_tree(&src, &dst);
        } else if entry.file_name() != "setup" {
            std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        }
    }
}
