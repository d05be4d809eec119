//! The one walk policy of seawall's file trees, for evidence and for rule folders alike:
//! the `ignore` walker without ignore-file semantics (hidden files included), symlinks not
//! followed below a path the user gave, depth bounded by [`MAX_DEPTH`], and what comes back
//! sorted. A path the user names is taken as named, symlink or not, as ripgrep does.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

/// Folders deeper than this below a root are not entered: evidence trees are a few dozen
/// levels at most (Windows paths stop at 260 characters unless long paths are on), and a
/// hostile or looping tree must end.
pub const MAX_DEPTH: usize = 64;

/// A walker over `root` with seawall's policy; the caller builds it sequential or parallel.
/// Folders at [`MAX_DEPTH`] are yielded but not entered ([`is_past_depth_bound`] tells them).
pub fn builder(root: &Path) -> WalkBuilder {
    let mut builder = WalkBuilder::new(root);
    builder.standard_filters(false).hidden(false).follow_links(false).max_depth(Some(MAX_DEPTH));
    builder
}

/// Whether a walked entry is a folder the walk does not enter (it is at the depth bound).
pub fn is_past_depth_bound(entry: &ignore::DirEntry) -> bool {
    entry.depth() >= MAX_DEPTH && entry.file_type().is_some_and(|t| t.is_dir())
}

/// A path a walk could not read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct WalkError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl WalkError {
    /// The path and the I/O error inside one of the walker's errors (`walk` when it names none).
    pub fn from_ignore(error: ignore::Error) -> WalkError {
        let path = error_path(&error).unwrap_or_else(|| PathBuf::from("walk"));
        let source = match error.into_io_error() {
            Some(io) => io,
            None => std::io::Error::other("the walk could not read this entry"),
        };
        WalkError { path, source }
    }
}

fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => None,
    }
}

/// Files found under some paths, and what could not be read (folders past the depth bound
/// included: they are not entered).
#[derive(Debug, Default)]
pub struct Found {
    /// Sorted, each once.
    pub files: Vec<PathBuf>,
    pub errors: Vec<WalkError>,
}

/// Regular files under `paths` whose extension is one of `extensions` (ASCII case ignored),
/// for rule folders (`--sigma`, `--yara`, `--rules`, `rules lint`). A file given directly is
/// taken whatever its name; a path that cannot be read is an error and the others still
/// walk.
pub fn files_with_extensions(paths: &[PathBuf], extensions: &[&str]) -> Found {
    let mut found = Found::default();
    for root in paths {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_file() => {
                found.files.push(root.clone());
                continue;
            }
            Ok(meta) if meta.is_dir() => {}
            // Neither a file nor a folder (a FIFO, a device): nothing to read as rules.
            Ok(_) => continue,
            Err(source) => {
                found.errors.push(WalkError { path: root.clone(), source });
                continue;
            }
        }
        for entry in builder(root).build() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    found.errors.push(WalkError::from_ignore(error));
                    continue;
                }
            };
            if is_past_depth_bound(&entry) {
                let source = std::io::Error::other(format!("deeper than {MAX_DEPTH} levels: not entered"));
                found.errors.push(WalkError { path: entry.into_path(), source });
                continue;
            }
            let wanted = entry.path().extension().is_some_and(|ext| {
                extensions.iter().any(|wanted| ext.to_str().is_some_and(|ext| ext.eq_ignore_ascii_case(wanted)))
            });
            if wanted && entry.file_type().is_some_and(|t| t.is_file()) {
                found.files.push(entry.into_path());
            }
        }
    }
    found.files.sort();
    found.files.dedup();
    found
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn rule_folders_are_walked_sorted_without_following_symlinks() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).expect("dirs");
        std::fs::write(root.join("b/c/z.YML"), "x").expect("write");
        std::fs::write(root.join("a.yaml"), "x").expect("write");
        std::fs::write(root.join(".hidden.yml"), "x").expect("write");
        std::fs::write(root.join("notes.txt"), "x").expect("write");
        let outside = tempfile::tempdir().expect("outside");
        std::fs::write(outside.path().join("other.yml"), "x").expect("write");
        std::os::unix::fs::symlink(outside.path(), root.join("linked")).expect("symlink");
        std::os::unix::fs::symlink(outside.path().join("other.yml"), root.join("l.yml")).expect("symlink");
        let found = files_with_extensions(&[root.to_owned()], &["yml", "yaml"]);
        let names: Vec<String> =
            found.files.iter().map(|p| p.strip_prefix(root).expect("below").display().to_string()).collect();
        assert_eq!(names, [".hidden.yml", "a.yaml", "b/c/z.YML"]);
        assert!(found.errors.is_empty(), "{:?}", found.errors);

        // A symlink the user names is read; a file named directly is taken whatever its name.
        let named = files_with_extensions(&[root.join("l.yml"), root.join("notes.txt")], &["yml"]);
        assert_eq!(named.files, [root.join("l.yml"), root.join("notes.txt")]);
        let missing = files_with_extensions(&[root.join("absent")], &["yml"]);
        assert_eq!(missing.errors.len(), 1);
        assert_eq!(missing.errors[0].path, root.join("absent"));
        assert_eq!(missing.errors[0].source.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn folders_past_the_depth_bound_are_reported_not_entered() {
        let dir = tempfile::tempdir().expect("dir");
        let mut deep = dir.path().to_owned();
        // A folder at depth MAX_DEPTH - 1 is entered; its child folder, at the bound, is not.
        for _ in 1..MAX_DEPTH {
            deep.push("d");
        }
        std::fs::create_dir_all(deep.join("e")).expect("deep dirs");
        std::fs::write(deep.join("at-bound.yml"), "x").expect("write");
        std::fs::write(deep.join("e/below.yml"), "x").expect("write");
        let found = files_with_extensions(&[dir.path().to_owned()], &["yml"]);
        assert_eq!(found.files, [deep.join("at-bound.yml")]);
        assert_eq!(found.errors.len(), 1);
        assert_eq!(found.errors[0].path, deep.join("e"));
        assert!(found.errors[0].to_string().ends_with("deeper than 64 levels: not entered"), "{}", found.errors[0]);
    }
}
