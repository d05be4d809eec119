//! The evidence walk: every regular file under the given paths, walked by the
//! one policy of `seawall_sources::walk` (hidden files included, no ignore-file
//! semantics, symlinks not followed, depth bounded). What is not a regular file
//! is not read, but never silently: a path given on the command line that is a
//! FIFO, socket or device is an error, such entries met in a walk (and
//! symlinks, and folders past the depth bound) are counted by kind.

use std::collections::BTreeMap;
use std::fs::FileType;
use std::path::PathBuf;
use std::sync::Mutex;

use ignore::WalkState;
use seawall_model::ErrorRecord;
use seawall_sources::walk::{WalkError, builder, is_past_depth_bound};

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// Regular files, sorted, each once.
    pub files: Vec<PathBuf>,
    /// Paths that could not be read or are not evidence files.
    pub errors: Vec<ErrorRecord>,
    /// Entries that are not regular files nor directories, per kind (`symlink`, `fifo`, ...).
    pub skipped: BTreeMap<&'static str, u64>,
}

/// The kind counted for a folder at the depth bound, not entered.
const DEEP_FOLDER: &str = "folder past the depth bound";

/// The kind of a file that is neither a regular file nor a directory.
fn special_kind(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "fifo";
        }
        if file_type.is_socket() {
            return "socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "device";
        }
    }
    if file_type.is_symlink() { "symlink" } else { "other" }
}

/// Files under `paths` in a stable order, the paths that could not be read, and what was skipped.
pub fn walk(paths: &[PathBuf]) -> Walk {
    let files = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let skipped = Mutex::new(BTreeMap::new());
    for root in paths {
        let metadata = match std::fs::metadata(root) {
            Ok(metadata) => metadata,
            Err(e) => {
                let message = if e.kind() == std::io::ErrorKind::NotFound {
                    "no such file or directory".into()
                } else {
                    e.to_string()
                };
                errors.lock().unwrap_or_else(|e| e.into_inner()).push(ErrorRecord {
                    source: root.display().to_string(),
                    message,
                    position: None,
                });
                continue;
            }
        };
        if metadata.is_file() {
            files.lock().unwrap_or_else(|e| e.into_inner()).push(root.clone());
            continue;
        }
        if !metadata.is_dir() {
            errors.lock().unwrap_or_else(|e| e.into_inner()).push(ErrorRecord {
                source: root.display().to_string(),
                message: format!(
                    "not a regular file or directory (a {}): not read; copy the evidence to a file",
                    special_kind(metadata.file_type())
                ),
                position: None,
            });
            continue;
        }
        builder(root).build_parallel().run(|| {
            Box::new(|entry| {
                match entry {
                    Ok(entry) if is_past_depth_bound(&entry) => {
                        *skipped.lock().unwrap_or_else(|e| e.into_inner()).entry(DEEP_FOLDER).or_insert(0) += 1
                    }
                    Ok(entry) => match entry.file_type() {
                        Some(t) if t.is_file() => {
                            files.lock().unwrap_or_else(|e| e.into_inner()).push(entry.into_path())
                        }
                        Some(t) if t.is_dir() => {}
                        Some(t) => {
                            *skipped.lock().unwrap_or_else(|e| e.into_inner()).entry(special_kind(t)).or_insert(0) += 1
                        }
                        None => {}
                    },
                    Err(error) => {
                        let message = error.to_string();
                        let error = WalkError::from_ignore(error);
                        errors.lock().unwrap_or_else(|e| e.into_inner()).push(ErrorRecord {
                            source: error.path.display().to_string(),
                            message,
                            position: None,
                        })
                    }
                }
                WalkState::Continue
            })
        });
    }
    let mut files = files.into_inner().unwrap_or_else(|e| e.into_inner());
    files.sort();
    files.dedup();
    Walk {
        files,
        errors: errors.into_inner().unwrap_or_else(|e| e.into_inner()),
        skipped: skipped.into_inner().unwrap_or_else(|e| e.into_inner()),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::process::Command;

    use super::*;

    fn mkfifo(path: &std::path::Path) {
        let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
        assert!(status.success());
    }

    // See: issue 14 (a FIFO given as the path gave `files 0, errors 0`).
    #[test]
    fn a_fifo_given_as_the_path_is_an_error() {
        let dir = tempfile::tempdir().expect("dir");
        let fifo = dir.path().join("evidence.log");
        mkfifo(&fifo);
        let walked = walk(std::slice::from_ref(&fifo));
        assert!(walked.files.is_empty());
        assert_eq!(walked.errors.len(), 1, "{:?}", walked.errors);
        assert!(walked.errors[0].message.contains("a fifo"), "{:?}", walked.errors);
        let device = walk(&[PathBuf::from("/dev/null")]);
        assert!(device.errors.iter().any(|e| e.message.contains("a device")), "{:?}", device.errors);
    }

    // See: issue 14 (non-regular entries in a walk were not counted).
    #[test]
    fn special_entries_in_a_walk_are_counted_by_kind() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("u_ex.log"), b"x").expect("write");
        mkfifo(&dir.path().join("pipe"));
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link")).expect("symlink");
        let walked = walk(&[dir.path().to_owned()]);
        assert_eq!(walked.files.len(), 1);
        assert!(walked.errors.is_empty(), "{:?}", walked.errors);
        assert_eq!(walked.skipped.get("fifo"), Some(&1));
        assert_eq!(walked.skipped.get("symlink"), Some(&1));
    }

    #[test]
    fn folders_past_the_depth_bound_are_counted_not_entered() {
        let dir = tempfile::tempdir().expect("dir");
        let mut deep = dir.path().to_owned();
        for _ in 1..seawall_sources::walk::MAX_DEPTH {
            deep.push("d");
        }
        std::fs::create_dir_all(deep.join("e")).expect("deep dirs");
        std::fs::write(deep.join("u_ex1.log"), b"x").expect("write");
        std::fs::write(deep.join("e/u_ex2.log"), b"x").expect("write");
        let walked = walk(&[dir.path().to_owned()]);
        assert_eq!(walked.files, [deep.join("u_ex1.log")]);
        assert_eq!(walked.skipped.get(DEEP_FOLDER), Some(&1));
    }
}
