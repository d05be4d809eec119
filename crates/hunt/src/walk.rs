//! The evidence walk: every regular file under the given paths, hidden ones
//! included, no ignore-file semantics, symlinks not followed. What is not a
//! regular file is not read, but never silently: a path given on the command
//! line that is a FIFO, socket or device is an error, such entries met in a
//! walk (and symlinks) are counted by kind.

use std::collections::BTreeMap;
use std::fs::FileType;
use std::path::PathBuf;
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};
use seawall_model::ErrorRecord;

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
        WalkBuilder::new(root).standard_filters(false).hidden(false).follow_links(false).build_parallel().run(|| {
            Box::new(|entry| {
                match entry {
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
                    Err(error) => errors.lock().unwrap_or_else(|e| e.into_inner()).push(ErrorRecord {
                        source: error_path(&error),
                        message: error.to_string(),
                        position: None,
                    }),
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

fn error_path(error: &ignore::Error) -> String {
    match error {
        ignore::Error::WithPath { path, .. } => path.display().to_string(),
        ignore::Error::WithDepth { err, .. } => error_path(err),
        _ => "walk".into(),
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
}
